# ruff: noqa: E501  (one sentence per line reads better than wrapped literals)
"""Writes ``grounding_labelled.jsonl``: hand-written (sources, answer, label) triples.

Each base case is one source passage and six answers written for it: a faithful answer and a
paraphrase (label ``grounded``), and four hallucinations: a wrong number, a wrong entity, an
unsupported addition and a negation (label ``hallucinated``). Run it to regenerate the file:

    python tests/data/make_grounding_set.py
"""

from __future__ import annotations

import json
from pathlib import Path

# (source, faithful, paraphrase, wrong number, wrong entity, unsupported addition, negation)
CASES: list[tuple[str, ...]] = [
    (
        "Refunds are issued within 14 days of a return being received. Refunds go back to the original payment method.",
        "Refunds are issued within 14 days of the return being received.",
        "Once the return arrives, the refund is issued within 14 days to the original payment method.",
        "Refunds are issued within 30 days of a return being received.",
        "Refunds are issued within 14 days and go back to a PayPal gift card.",
        "Refunds are issued within 14 days. Shipping costs are also refunded in full.",
        "Refunds are not issued within 14 days of a return being received.",
    ),
    (
        "The Eiffel Tower was completed in 1889 for the World's Fair in Paris. It is 330 metres tall.",
        "The Eiffel Tower was completed in 1889 and is 330 metres tall.",
        "Completed for the Paris World's Fair in 1889, the tower stands 330 metres tall.",
        "The Eiffel Tower was completed in 1901 and is 330 metres tall.",
        "The Eiffel Tower was completed in 1889 for the World's Fair in Lyon.",
        "The Eiffel Tower is 330 metres tall. It was painted gold in 2010.",
        "The Eiffel Tower was not completed in 1889.",
    ),
    (
        "Standard shipping takes 3 to 5 business days. Express shipping arrives the next business day.",
        "Standard shipping takes 3 to 5 business days.",
        "Orders sent with standard shipping arrive in 3 to 5 business days, and express arrives the next business day.",
        "Standard shipping takes 7 to 10 business days.",
        "Express shipping through DHL arrives the next business day.",
        "Standard shipping takes 3 to 5 business days. Shipping is free on orders above 50 dollars.",
        "Express shipping does not arrive the next business day.",
    ),
    (
        "Marie Curie won the Nobel Prize in Physics in 1903 and the Nobel Prize in Chemistry in 1911.",
        "Marie Curie won the Nobel Prize in Chemistry in 1911.",
        "In 1903 Curie received the Nobel Prize in Physics, and in 1911 the one in Chemistry.",
        "Marie Curie won the Nobel Prize in Chemistry in 1921.",
        "Marie Curie won the Nobel Prize in Medicine in 1911.",
        "Marie Curie won the Nobel Prize in Physics in 1903. She was born in Vienna.",
        "Marie Curie never won the Nobel Prize in Physics.",
    ),
    (
        "The Basic plan costs 12 dollars per month and includes 5 users. The Pro plan costs 30 dollars per month and includes 20 users.",
        "The Basic plan costs 12 dollars per month and includes 5 users.",
        "For 30 dollars a month, the Pro plan includes 20 users.",
        "The Basic plan costs 15 dollars per month and includes 5 users.",
        "The Enterprise plan costs 30 dollars per month and includes 20 users.",
        "The Pro plan costs 30 dollars per month. It also includes unlimited storage and priority support.",
        "The Basic plan does not include 5 users.",
    ),
    (
        "Python 3.12 was released in October 2023. It improved error messages and made f-strings more flexible.",
        "Python 3.12 was released in October 2023.",
        "Released in October 2023, Python 3.12 improved error messages and made f-strings more flexible.",
        "Python 3.12 was released in October 2021.",
        "Python 3.12 was released in December 2023.",
        "Python 3.12 was released in October 2023. It removed the global interpreter lock.",
        "Python 3.12 did not improve error messages.",
    ),
    (
        "The Amazon River flows through Peru, Colombia and Brazil. It discharges about 209,000 cubic metres of water per second.",
        "The Amazon River flows through Peru, Colombia and Brazil.",
        "About 209,000 cubic metres of water per second are discharged by the Amazon River.",
        "The Amazon River discharges about 120,000 cubic metres of water per second.",
        "The Amazon River flows through Peru, Colombia and Argentina.",
        "The Amazon River flows through Brazil. Its source was discovered by Spanish explorers in 1542.",
        "The Amazon River does not flow through Colombia.",
    ),
    (
        "Our support team is available Monday to Friday from 9 am to 6 pm. Support requests are answered within 24 hours.",
        "Support requests are answered within 24 hours.",
        "The support team can be reached from 9 am to 6 pm, Monday to Friday.",
        "Support requests are answered within 48 hours.",
        "Our support team is available Monday to Sunday from 9 am to 6 pm.",
        "Support requests are answered within 24 hours. Premium customers get a dedicated phone line.",
        "Support requests are not answered within 24 hours.",
    ),
    (
        "The Great Wall of China is more than 21,000 kilometres long. Most of the existing wall was built during the Ming dynasty.",
        "Most of the existing Great Wall was built during the Ming dynasty.",
        "The wall, mostly built during the Ming dynasty, is more than 21,000 kilometres long.",
        "The Great Wall of China is more than 8,000 kilometres long.",
        "Most of the existing wall was built during the Qing dynasty.",
        "The Great Wall of China is more than 21,000 kilometres long. It is visible from the Moon with the naked eye.",
        "Most of the existing wall was not built during the Ming dynasty.",
    ),
    (
        "Employees accrue 25 days of paid leave per year. Unused leave of up to 5 days can be carried over to the next year.",
        "Employees accrue 25 days of paid leave per year.",
        "Up to 5 days of unused leave can be carried over into the next year.",
        "Employees accrue 30 days of paid leave per year.",
        "Employees accrue 25 days of paid leave per year, approved by the HR director in Berlin.",
        "Employees accrue 25 days of paid leave per year. Sick days are unlimited.",
        "Unused leave cannot be carried over to the next year.",
    ),
    (
        "Mount Everest is 8,849 metres high. It was first climbed by Edmund Hillary and Tenzing Norgay in 1953.",
        "Mount Everest was first climbed by Edmund Hillary and Tenzing Norgay in 1953.",
        "Edmund Hillary and Tenzing Norgay first climbed Mount Everest, which is 8,849 metres high, in 1953.",
        "Mount Everest was first climbed in 1963.",
        "Mount Everest was first climbed by George Mallory and Tenzing Norgay in 1953.",
        "Mount Everest is 8,849 metres high. More than 300 people have died on it since 1990.",
        "Mount Everest was not first climbed in 1953.",
    ),
    (
        "The API rate limit is 100 requests per minute per key. Requests above the limit receive status 429.",
        "The API rate limit is 100 requests per minute per key.",
        "Each key may make 100 requests per minute; anything above the limit receives status 429.",
        "The API rate limit is 1,000 requests per minute per key.",
        "Requests above the limit receive status 503.",
        "The API rate limit is 100 requests per minute per key. Limits reset at midnight UTC.",
        "Requests above the limit do not receive status 429.",
    ),
    (
        "Water boils at 100 degrees Celsius at sea level. At higher altitudes it boils at a lower temperature.",
        "Water boils at 100 degrees Celsius at sea level.",
        "At sea level, water boils at 100 degrees Celsius, and at higher altitudes it boils at a lower temperature.",
        "Water boils at 90 degrees Celsius at sea level.",
        "Water boils at 100 degrees Fahrenheit at sea level.",
        "Water boils at 100 degrees Celsius at sea level. Adding salt makes it boil twice as fast.",
        "At higher altitudes water does not boil at a lower temperature.",
    ),
    (
        "The library opens at 8 am and closes at 10 pm on weekdays. On Sundays it is closed.",
        "The library opens at 8 am and closes at 10 pm on weekdays.",
        "On weekdays the library opens at 8 am and closes at 10 pm, and on Sundays it is closed.",
        "The library opens at 7 am and closes at 10 pm on weekdays.",
        "On Saturdays the library is closed.",
        "The library opens at 8 am on weekdays. Visitors can borrow up to 15 books.",
        "The library is not closed on Sundays.",
    ),
    (
        "Apollo 11 landed on the Moon on 20 July 1969. Neil Armstrong and Buzz Aldrin walked on the surface while Michael Collins stayed in orbit.",
        "Apollo 11 landed on the Moon on 20 July 1969.",
        "While Michael Collins stayed in orbit, Neil Armstrong and Buzz Aldrin walked on the surface.",
        "Apollo 11 landed on the Moon on 20 July 1972.",
        "Neil Armstrong and Michael Collins walked on the surface while Buzz Aldrin stayed in orbit in Gemini.",
        "Apollo 11 landed on the Moon on 20 July 1969. The crew brought back 500 kilograms of rock.",
        "Buzz Aldrin did not walk on the surface.",
    ),
    (
        "The warranty covers manufacturing defects for 2 years from the date of purchase. Damage caused by accidents is not covered.",
        "The warranty covers manufacturing defects for 2 years from the date of purchase.",
        "Manufacturing defects are covered for 2 years from the date of purchase, but damage caused by accidents is not covered.",
        "The warranty covers manufacturing defects for 5 years from the date of purchase.",
        "The warranty from Samsung covers manufacturing defects for 2 years.",
        "The warranty covers manufacturing defects for 2 years. It can be extended online for 19 euros.",
        "Damage caused by accidents is covered.",
    ),
    (
        "Jupiter is the largest planet in the Solar System. It has 95 officially recognised moons.",
        "Jupiter is the largest planet in the Solar System.",
        "The largest planet in the Solar System, Jupiter, has 95 officially recognised moons.",
        "Jupiter has 63 officially recognised moons.",
        "Saturn is the largest planet in the Solar System.",
        "Jupiter is the largest planet in the Solar System. Its day lasts 30 hours.",
        "Jupiter is not the largest planet in the Solar System.",
    ),
    (
        "Passwords must be at least 12 characters long and are rotated every 90 days. Accounts lock after 5 failed attempts.",
        "Passwords must be at least 12 characters long.",
        "After 5 failed attempts accounts lock, and passwords are rotated every 90 days.",
        "Passwords must be at least 8 characters long.",
        "Passwords must be at least 12 characters long and are managed through Okta.",
        "Accounts lock after 5 failed attempts. Unlocking requires a call to the security team.",
        "Accounts do not lock after failed attempts.",
    ),
    (
        "The Treaty of Versailles was signed on 28 June 1919. It ended the state of war between Germany and the Allied Powers.",
        "The Treaty of Versailles was signed on 28 June 1919.",
        "Signed on 28 June 1919, the Treaty of Versailles ended the state of war between Germany and the Allied Powers.",
        "The Treaty of Versailles was signed on 28 June 1923.",
        "The Treaty of Versailles ended the state of war between Austria and the Allied Powers.",
        "The Treaty of Versailles was signed on 28 June 1919. It created the United Nations.",
        "The Treaty of Versailles did not end the state of war between Germany and the Allied Powers.",
    ),
    (
        "Invoices are sent on the first day of each month and are due within 30 days. Late payments incur a fee of 2 percent.",
        "Invoices are sent on the first day of each month and are due within 30 days.",
        "Each month, on its first day, invoices are sent, and they are due within 30 days.",
        "Invoices are due within 60 days.",
        "Invoices are sent by Stripe on the first day of each month.",
        "Invoices are due within 30 days. Customers paying early receive a discount of 5 percent.",
        "Late payments do not incur a fee.",
    ),
    (
        "The human heart has four chambers. It beats about 100,000 times a day.",
        "The human heart has four chambers.",
        "The heart of a human beats about 100,000 times a day and has four chambers.",
        "The human heart has three chambers.",
        "The human heart has four chambers, as William Harvey measured in Edinburgh.",
        "The human heart has four chambers. It weighs about 2 kilograms.",
        "The human heart does not have four chambers.",
    ),
    (
        "Tokyo hosted the Summer Olympics in 1964 and in 2021. The 2020 Games were postponed by one year because of the pandemic.",
        "Tokyo hosted the Summer Olympics in 1964 and in 2021.",
        "Because of the pandemic, the 2020 Games were postponed by one year.",
        "Tokyo hosted the Summer Olympics in 1968 and in 2021.",
        "Osaka hosted the Summer Olympics in 1964 and in 2021.",
        "Tokyo hosted the Summer Olympics in 1964 and in 2021. The 2021 Games were held without spectators from abroad and cost 15 billion dollars.",
        "The 2020 Games were not postponed.",
    ),
    (
        "Backups run every night at 2 am and are kept for 35 days. Restores are tested once a quarter.",
        "Backups run every night at 2 am and are kept for 35 days.",
        "Every night at 2 am backups run, and they are kept for 35 days.",
        "Backups run every night at 2 am and are kept for 90 days.",
        "Backups run every night at 2 am and are stored in Azure.",
        "Backups are kept for 35 days. They are encrypted with keys rotated every week.",
        "Restores are never tested.",
    ),
    (
        "Shakespeare wrote Hamlet around 1600. The play is set in Denmark.",
        "Shakespeare wrote Hamlet around 1600.",
        "Hamlet, which is set in Denmark, was written by Shakespeare around 1600.",
        "Shakespeare wrote Hamlet around 1625.",
        "The play Hamlet is set in Norway.",
        "Shakespeare wrote Hamlet around 1600. It was first performed at the Rose Theatre for Queen Elizabeth.",
        "Hamlet is not set in Denmark.",
    ),
    (
        "The conference takes place in Lisbon from 4 to 6 November. Registration closes on 15 October.",
        "The conference takes place in Lisbon from 4 to 6 November.",
        "Registration for the Lisbon conference, held from 4 to 6 November, closes on 15 October.",
        "The conference takes place in Lisbon from 4 to 9 November.",
        "The conference takes place in Madrid from 4 to 6 November.",
        "Registration closes on 15 October. Tickets cost 400 euros.",
        "Registration does not close on 15 October.",
    ),
    (
        "Photosynthesis converts carbon dioxide and water into glucose and oxygen using light energy. It takes place in the chloroplasts.",
        "Photosynthesis takes place in the chloroplasts.",
        "Using light energy, photosynthesis converts water and carbon dioxide into oxygen and glucose.",
        "Photosynthesis converts carbon dioxide and water into glucose and oxygen in 3 stages.",
        "Photosynthesis takes place in the mitochondria.",
        "Photosynthesis takes place in the chloroplasts. It was discovered by Jan Ingenhousz in 1779.",
        "Photosynthesis does not take place in the chloroplasts.",
    ),
    (
        "The data centre in Frankfurt serves customers in the European Union. Data of these customers never leaves the European Union.",
        "The data centre in Frankfurt serves customers in the European Union.",
        "Customers in the European Union are served from the data centre in Frankfurt.",
        "The 2 data centres in Frankfurt serve customers in the European Union.",
        "The data centre in Dublin serves customers in the European Union.",
        "The data centre in Frankfurt serves customers in the European Union. It runs entirely on solar power.",
        "Data of these customers does leave the European Union.",
    ),
    (
        "The Model S has a range of 634 kilometres and accelerates from 0 to 100 km/h in 3.2 seconds.",
        "The Model S has a range of 634 kilometres.",
        "Accelerating from 0 to 100 km/h in 3.2 seconds, the Model S has a range of 634 kilometres.",
        "The Model S has a range of 500 kilometres.",
        "The Model X has a range of 634 kilometres.",
        "The Model S has a range of 634 kilometres. It can charge fully in 10 minutes.",
        "The Model S does not have a range of 634 kilometres.",
    ),
    (
        "Antibiotics treat bacterial infections. They are not effective against viruses such as influenza.",
        "Antibiotics treat bacterial infections.",
        "Bacterial infections are treated with antibiotics, which are not effective against viruses such as influenza.",
        "Antibiotics treat 3 kinds of bacterial infections.",
        "Antibiotics are not effective against viruses such as measles.",
        "Antibiotics treat bacterial infections. Penicillin was the first one, sold in 1942.",
        "Antibiotics are effective against viruses such as influenza.",
    ),
    (
        "The Danube flows through ten countries and empties into the Black Sea. It is about 2,850 kilometres long.",
        "The Danube empties into the Black Sea.",
        "The Danube, about 2,850 kilometres long, flows through ten countries and empties into the Black Sea.",
        "The Danube is about 3,500 kilometres long.",
        "The Danube empties into the Caspian Sea.",
        "The Danube empties into the Black Sea. Its source lies in the Alps in Switzerland.",
        "The Danube does not empty into the Black Sea.",
    ),
    (
        "New accounts get a free trial of 14 days. No credit card is required to start the trial.",
        "New accounts get a free trial of 14 days.",
        "A 14 day free trial is available to new accounts, and it starts without a credit card.",
        "New accounts get a free trial of 21 days.",
        "New accounts get a free trial of 14 days through the Google Play store.",
        "New accounts get a free trial of 14 days. The trial includes 3 premium templates.",
        "A credit card is required to start the trial.",
    ),
    (
        "The Berlin Wall fell on 9 November 1989. Germany was reunified on 3 October 1990.",
        "The Berlin Wall fell on 9 November 1989.",
        "On 3 October 1990 Germany was reunified, after the Berlin Wall fell on 9 November 1989.",
        "The Berlin Wall fell on 9 November 1991.",
        "The Vienna Wall fell on 9 November 1989.",
        "The Berlin Wall fell on 9 November 1989. About 2 million people crossed on the first night.",
        "Germany was not reunified on 3 October 1990.",
    ),
    (
        "The recipe needs 200 grams of flour, 2 eggs and 300 millilitres of milk. Bake the batter for 25 minutes.",
        "The recipe needs 200 grams of flour, 2 eggs and 300 millilitres of milk.",
        "Bake the batter for 25 minutes; it needs 2 eggs, 300 millilitres of milk and 200 grams of flour.",
        "The recipe needs 500 grams of flour, 2 eggs and 300 millilitres of milk.",
        "The recipe needs 200 grams of flour, 2 eggs and 300 millilitres of Oatly milk.",
        "Bake the batter for 25 minutes. Serve it with vanilla ice cream.",
        "Do not bake the batter.",
    ),
    (
        "The Pacific Ocean covers about 165 million square kilometres. Its deepest point is the Challenger Deep in the Mariana Trench.",
        "The deepest point of the Pacific Ocean is the Challenger Deep in the Mariana Trench.",
        "Covering about 165 million square kilometres, the Pacific Ocean has its deepest point in the Challenger Deep of the Mariana Trench.",
        "The Pacific Ocean covers about 95 million square kilometres.",
        "The deepest point of the Pacific Ocean is the Tonga Trench.",
        "The Pacific Ocean covers about 165 million square kilometres. It contains 25,000 islands.",
        "The Challenger Deep is not in the Mariana Trench.",
    ),
    (
        "Two-factor authentication is required for all administrator accounts. It can use an authenticator app or a hardware key.",
        "Two-factor authentication is required for all administrator accounts.",
        "All administrator accounts require two-factor authentication, using a hardware key or an authenticator app.",
        "Two-factor authentication is required for all 3 administrator accounts.",
        "Two-factor authentication can use an authenticator app or a YubiKey from Yubico.",
        "Two-factor authentication is required for all administrator accounts. SMS codes are also accepted.",
        "Two-factor authentication is not required for administrator accounts.",
    ),
]

KINDS = (
    ("faithful", "grounded"),
    ("paraphrase", "grounded"),
    ("wrong_number", "hallucinated"),
    ("wrong_entity", "hallucinated"),
    ("unsupported_addition", "hallucinated"),
    ("negation", "hallucinated"),
)


def main() -> None:
    out = Path(__file__).with_name("grounding_labelled.jsonl")
    lines = []
    for case_id, (source, *answers) in enumerate(CASES):
        assert len(answers) == len(KINDS), source
        for answer, (kind, label) in zip(answers, KINDS, strict=True):
            row = {
                "case": case_id,
                "kind": kind,
                "sources": [source],
                "answer": answer,
                "label": label,
            }
            lines.append(json.dumps(row, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} triples to {out}")


if __name__ == "__main__":
    main()
