"""Generate ``raw_text.jsonl``: original, unannotated English text for pretraining demos.

Every line is a JSON object ``{"text": "..."}`` holding one to three sentences.
The sentences are assembled from hand-written templates and word lists that
were written for this project (no external corpus is used), so the output is
free of third-party copyright and released under CC0-1.0 like the rest of
``sample_data/``.

The generator is deterministic: the same seed always produces the same file.

Usage::

    python sample_data/make_raw_text.py                # writes sample_data/raw_text.jsonl
    python sample_data/make_raw_text.py -n 3000 -o /tmp/raw.jsonl --seed 7
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

# ---------------------------------------------------------------------------
# Word lists
# ---------------------------------------------------------------------------

FIRST_NAMES = [
    "Maria", "Kofi", "Anna", "Daniel", "Priya", "Tomás", "Aisha", "Jonas", "Lena",
    "Omar", "Sara", "Chen", "Hannah", "Yusuf", "Lucía", "Grace", "Ahmed", "Ines",
    "Marco", "Elena", "Ravi", "Nadia", "Oliver", "Carla", "Felix", "Zara", "Kwame",
    "Noor", "Liam", "Isabel", "Tariq", "Hiroshi", "Sophie", "Abdul", "Valentina",
    "Joost", "Mei", "Pedro", "Amara", "Samuel", "Ingrid", "Emma", "Jake", "Rosa",
]
LAST_NAMES = [
    "Lopez", "Mensah", "Bello", "Fischer", "Haddad", "Lind", "Petrova", "Mwangi",
    "Duarte", "Okafor", "Herrera", "Brandt", "Karim", "Silva", "Russo", "Martin",
    "Osei", "Eze", "Mehra", "Morimoto", "Halvorsen", "Clarke", "Ansah", "Vance",
]
CITIES = [
    "Paris", "Lisbon", "Nairobi", "Madrid", "Toronto", "Oslo", "Vienna", "Budapest",
    "Cairo", "Seoul", "Dublin", "Accra", "Lagos", "Prague", "Florence", "Lyon",
    "Geneva", "Leeds", "Vancouver", "Porto", "Munich", "Berlin", "Barcelona",
    "Istanbul", "Rome", "Montevideo", "Tallinn", "Singapore", "Zurich", "Kigali",
    "Milan", "Kyoto", "Hanoi", "Lima", "Manchester", "Utrecht", "Edinburgh",
    "Melbourne", "Auckland", "Chicago", "New York", "San Francisco", "Rotterdam",
]
REGIONS = [
    "Kenya", "Japan", "Chile", "Iceland", "Morocco", "Greece", "Portugal", "Spain",
    "Peru", "Scotland", "Wales", "Vermont", "Tuscany", "Patagonia", "Tasmania",
    "Brazil", "Norway", "Ghana", "Vietnam", "Canada",
]
RIVERS = ["the Danube", "the Rhine", "the Nile", "the Thames", "the Seine", "the Mekong", "the Douro"]
MOUNTAINS = ["the Alps", "the Andes", "the Pyrenees", "Mount Kilimanjaro", "Ben Nevis", "Mont Blanc"]
COMPANIES = [
    "Northwind Shipping", "Bluefield Bank", "Greenway Foods", "Lumen Labs",
    "Redstone Motors", "Orbit Mobile", "Fernleaf Studio", "Kestrel Airlines",
    "Tidewater Logistics", "Corvid Games", "Sunfield Dairy", "Harlow Insurance",
    "Brightwater Energy", "Quillon Robotics", "Meridian Health", "Polaris Bank",
]
INSTITUTIONS = [
    "the city council", "the local library", "the Halvorsen Foundation",
    "Westbrook University", "the Ministry of Health", "Cedar Hill Hospital",
    "the Aldgate Institute", "the Riverside Running Club", "the town museum",
]

# Noun phrases used as subjects: (text, is_plural)
SUBJECTS = [
    ("my neighbour", False), ("the old fisherman", False), ("our teacher", False),
    ("the new manager", False), ("my grandmother", False), ("the bus driver", False),
    ("a young musician", False), ("the baker on the corner", False),
    ("my little brother", False), ("the head nurse", False), ("the night guard", False),
    ("our landlord", False), ("the museum guide", False), ("a retired engineer", False),
    ("my neighbours", True), ("the students", True), ("the volunteers", True),
    ("our cousins", True), ("the farmers", True), ("the twins", True),
    ("most visitors", True), ("the children", True), ("the workers", True),
    ("the tourists", True), ("the players", True), ("the new residents", True),
]

# Verb phrases: (base, third person singular, past, past participle, -ing form, complement)
VERB_PHRASES = [
    ("visit", "visits", "visited", "visited", "visiting", "the old market"),
    ("repair", "repairs", "repaired", "repaired", "repairing", "the garden fence"),
    ("paint", "paints", "painted", "painted", "painting", "the front door"),
    ("cook", "cooks", "cooked", "cooked", "cooking", "a large pot of soup"),
    ("read", "reads", "read", "read", "reading", "the morning paper"),
    ("write", "writes", "wrote", "written", "writing", "long letters to friends"),
    ("plant", "plants", "planted", "planted", "planting", "tomatoes in the yard"),
    ("clean", "cleans", "cleaned", "cleaned", "cleaning", "the kitchen windows"),
    ("feed", "feeds", "fed", "fed", "feeding", "the ducks by the pond"),
    ("sell", "sells", "sold", "sold", "selling", "fresh bread at the market"),
    ("build", "builds", "built", "built", "building", "a small wooden boat"),
    ("take", "takes", "took", "taken", "taking", "the early train"),
    ("walk", "walks", "walked", "walked", "walking", "the dog along the river"),
    ("fix", "fixes", "fixed", "fixed", "fixing", "old radios for fun"),
    ("teach", "teaches", "taught", "taught", "teaching", "children how to swim"),
    ("bake", "bakes", "baked", "baked", "baking", "rolls for the whole street"),
    ("play", "plays", "played", "played", "playing", "chess in the park"),
    ("collect", "collects", "collected", "collected", "collecting", "old postcards"),
    ("organize", "organizes", "organized", "organized", "organizing", "the street festival"),
    ("photograph", "photographs", "photographed", "photographed", "photographing", "birds near the lake"),
    ("grow", "grows", "grew", "grown", "growing", "herbs on the balcony"),
    ("carry", "carries", "carried", "carried", "carrying", "heavy boxes up the stairs"),
    ("sing", "sings", "sang", "sung", "singing", "in a local choir"),
    ("run", "runs", "ran", "run", "running", "along the beach"),
    ("study", "studies", "studied", "studied", "studying", "for the final exams"),
    ("travel", "travels", "travelled", "travelled", "travelling", "across the country by train"),
]

TIMES = [
    "On Monday morning", "Last summer", "Early this morning", "After lunch",
    "Every Sunday", "Late last night", "In the spring", "Two years ago",
    "During the holidays", "Yesterday afternoon", "At the weekend", "In the evening",
    "Before sunrise", "Last winter", "On Friday night",
]
EVENTS = [
    "the phone rang", "the lights went out", "the storm began", "someone knocked on the door",
    "the fire alarm went off", "the first guests arrived", "the dog started barking",
]
PAST_DAYS = ["Yesterday", "On Saturday", "Last Sunday", "On our last day", "On the first morning", "Last Tuesday"]
WEATHER = [
    "it rained all day", "the wind was strong", "the sky was clear", "it was very cold",
    "the streets were covered in snow", "the sun finally came out", "a thick fog rolled in",
    "the air was warm and still", "a storm passed over the hills",
]
ADJ_POSITIVE = ["friendly", "cheerful", "calm", "bright", "lovely", "peaceful", "charming", "lively", "quiet", "cozy"]
BUSY = ["noisy", "crowded", "busy", "hot", "chaotic"]
PLACES = [
    "café", "bookshop", "train station", "harbour", "old library", "market square",
    "museum", "bakery", "park", "swimming pool", "hotel", "cinema", "campsite",
]
# (dish, is_plural)
FOODS = [
    ("lentil soup", False), ("fish stew", False), ("lemon cake", False), ("homemade pasta", False),
    ("grilled vegetables", True), ("rice pudding", False), ("spicy noodles", True),
    ("apple pie", False), ("mushroom risotto", False), ("dumplings", True),
]
# (aspect, adjectives that fit it)
ASPECTS = [
    ("service", ["slow", "rushed", "disorganized"]),
    ("music", ["loud", "repetitive"]),
    ("lighting", ["dim", "harsh"]),
    ("waiting time", ["long"]),
    ("coffee", ["bitter", "weak", "cold"]),
    ("dining room", ["noisy", "cramped", "cold"]),
    ("dessert", ["sweet", "small"]),
]
THINGS = [
    ("laptop", "slows down"), ("printer", "jams"), ("kettle", "leaks"), ("bike", "squeaks"),
    ("phone", "freezes"), ("washing machine", "shakes"), ("camera", "overheats"),
]
FEATURES = [
    "narrow streets", "bright markets", "old bridges", "quiet gardens", "friendly cafés",
    "street food", "music festivals", "small museums", "painted houses", "late dinners",
]
JOBS = [
    "nurse", "teacher", "baker", "electrician", "journalist", "gardener", "pilot",
    "software developer", "librarian", "translator", "carpenter", "photographer",
]
HOBBIES = [
    "climbing", "painting", "cooking", "watching birds", "cycling", "knitting",
    "gardening", "sailing", "playing chess", "making pottery",
]
OBJECTS = [
    "an old map", "a small blue notebook", "a box of letters", "a broken watch",
    "a pair of gloves", "a roll of old photographs", "a set of keys", "a silver spoon",
]
TOOLS = [
    ("the oven", "to 180 degrees"), ("the router", "for thirty seconds"),
    ("the water", "until it boils"), ("the dough", "for ten minutes"),
]

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
]
NUMBER_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "ten", "twelve", "twenty"]


def cap(text: str) -> str:
    return text[0].upper() + text[1:]


def person(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(FIRST_NAMES)
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def subject(rng: random.Random) -> tuple[str, bool]:
    if rng.random() < 0.3:
        return person(rng), False
    return rng.choice(SUBJECTS)


def be(plural: bool, past: bool = False) -> str:
    if past:
        return "were" if plural else "was"
    return "are" if plural else "is"


def have(plural: bool) -> str:
    return "have" if plural else "has"


# ---------------------------------------------------------------------------
# Sentence templates: each takes an RNG and returns one sentence.
# ---------------------------------------------------------------------------


def t_past_habit(rng):
    subj, _ = subject(rng)
    vp = rng.choice(VERB_PHRASES)
    return f"{rng.choice(TIMES)}, {subj} {vp[2]} {vp[5]}."


def t_present_habit(rng):
    subj, plural = subject(rng)
    vp = rng.choice(VERB_PHRASES)
    verb = vp[0] if plural else vp[1]
    return f"{cap(subj)} usually {verb} {vp[5]} on {rng.choice(WEEKDAYS)}s."


def t_progressive(rng):
    subj, plural = subject(rng)
    vp = rng.choice(VERB_PHRASES)
    return f"{cap(subj)} {be(plural, past=True)} {vp[4]} {vp[5]} when {rng.choice(EVENTS)}."


def t_perfect(rng):
    subj, plural = subject(rng)
    vp = rng.choice(VERB_PHRASES)
    return f"{cap(subj)} {have(plural)} never {vp[3]} {vp[5]} before."


def t_weather(rng):
    return f"{rng.choice(PAST_DAYS)}, {rng.choice(WEATHER)}, so we stayed at home and {rng.choice(['read', 'played cards', 'baked bread', 'watched old films', 'talked for hours'])}."


def t_city(rng):
    city = rng.choice(CITIES)
    a, b = rng.sample(FEATURES, 2)
    return f"{city} is known for its {a} and its {b}."


def t_travel(rng):
    name = person(rng)
    a, b = rng.sample(CITIES, 2)
    months = rng.choice(MONTHS)
    return f"In {months}, {name} travelled from {a} to {b} and spent {rng.choice(NUMBER_WORDS)} days exploring the city."


def t_nature(rng):
    choice = rng.random()
    if choice < 0.5:
        river = rng.choice(RIVERS)
        return f"We walked along {river} until the path turned into a narrow track between the fields."
    mountain = rng.choice(MOUNTAINS)
    return f"From the window of our hut we could see {mountain} glowing in the evening light."


def t_job(rng):
    name = person(rng)
    job = rng.choice(JOBS)
    article = "an" if job[0] in "aeiou" else "a"
    city = rng.choice(CITIES)
    hobby = rng.choice(HOBBIES)
    return f"{name} works as {article} {job} in {city} and spends most weekends {hobby}."


def t_company(rng):
    company = rng.choice(COMPANIES)
    day = rng.choice(WEEKDAYS)
    action = rng.choice([
        f"open a new office in {rng.choice(CITIES)}",
        f"hire {rng.choice(['50', '120', '300', '800'])} new staff next year",
        "close two of its older sites",
        f"move its headquarters to {rng.choice(CITIES)}",
        "invest in cleaner energy",
        "cut prices for students",
    ])
    return f"{company} announced on {day} that it would {action}."


def t_institution(rng):
    inst = rng.choice(INSTITUTIONS)
    thing = rng.choice([
        "free evening classes", "a new reading room", "longer opening hours",
        "a summer program for teenagers", "a series of public talks",
    ])
    return f"{cap(inst)} will offer {thing} starting in {rng.choice(MONTHS)}."


def t_review(rng):
    food, plural = rng.choice(FOODS)
    aspect, bad_options = rng.choice(ASPECTS)
    good = rng.choice(["delicious", "excellent", "fresh", "generous", "perfectly seasoned"])
    return f"The {food} {be(plural, past=True)} {good}, but the {aspect} was a little {rng.choice(bad_options)}."


def t_place(rng):
    place = rng.choice(PLACES)
    adj = rng.choice(ADJ_POSITIVE)
    city = rng.choice(CITIES)
    return f"The {place} near our flat in {city} is {adj} in the morning and {rng.choice(BUSY)} in the afternoon."


def t_problem(rng):
    thing, verb = rng.choice(THINGS)
    return rng.choice([
        f"My {thing} {verb} every time I use it for more than an hour.",
        f"Does anyone know why my {thing} suddenly {verb} after the update?",
        f"The {thing} I bought last month already {verb}, and the shop will not replace it.",
    ])


def t_instruction(rng):
    tool, detail = rng.choice(TOOLS)
    verb = {"the oven": "Heat", "the router": "Unplug", "the water": "Heat", "the dough": "Knead"}[tool]
    return f"{verb} {tool} {detail}, then wait a few minutes before you continue."


def t_question(rng):
    name = person(rng)
    vp = rng.choice(VERB_PHRASES)
    return rng.choice([
        f"Have you ever {vp[3]} {vp[5]}?",
        f"Why did {name} {vp[0]} {vp[5]} so early?",
        f"Where can I find a good {rng.choice(PLACES)} in {rng.choice(CITIES)}?",
        f"Is it true that {name} is moving to {rng.choice(REGIONS)}?",
        "How long does it take to get from {} to {}?".format(*rng.sample(CITIES, 2)),
    ])


def t_conditional(rng):
    subj, plural = subject(rng)
    vp = rng.choice(VERB_PHRASES)
    cond = rng.choice([
        "it stops raining", "the shop is still open", "we finish early",
        "the train is on time", "there is enough time",
    ])
    return f"If {cond}, {subj} will {vp[0]} {vp[5]}."


def t_found(rng):
    subj, _ = subject(rng)
    obj = rng.choice(OBJECTS)
    where = rng.choice(["under the stairs", "in the attic", "behind the sofa", "at the bottom of a drawer", "in an old suitcase"])
    return f"{cap(subj)} found {obj} {where}."


def t_reported(rng):
    name = person(rng)
    clause = rng.choice([
        f"the bridge to {rng.choice(CITIES)} would reopen in {rng.choice(MONTHS)}",
        "the meeting had been moved to Thursday",
        "the new bakery sells the best bread in town",
        f"{rng.choice(COMPANIES)} was looking for new staff",
        "the museum is free on the first Sunday of each month",
    ])
    return f"{name} told us that {clause}."


def t_chat(rng):
    name = rng.choice(FIRST_NAMES).lower()
    return rng.choice([
        f"hey, are you coming to {name}'s place tonight?",
        f"lol i just saw {name} at the {rng.choice(PLACES)}",
        f"running late, see you at the {rng.choice(PLACES)} in ten minutes",
        f"did anyone else get the email from {name}?",
        "ok, i'll bring snacks and something to drink",
        f"can't wait for the trip to {rng.choice(CITIES).lower()} next week",
    ])


def t_email(rng):
    name = rng.choice(FIRST_NAMES)
    return rng.choice([
        f"Hi {name}, thanks for sending the notes from yesterday's meeting.",
        f"Dear {name}, I am writing to confirm your booking for {rng.choice(WEEKDAYS)}.",
        f"Could you send me the updated figures before {rng.choice(WEEKDAYS)} afternoon?",
        f"Please let {name} know that the call has moved to {rng.choice(['9:30', '11:00', '2:15', '4:45'])}.",
        f"I will be out of the office until {rng.choice(MONTHS)} {rng.randint(2, 28)}.",
    ])


def t_numbers(rng):
    return rng.choice([
        f"The ticket costs ${rng.randint(5, 60)}, and children under {rng.randint(5, 12)} travel for free.",
        f"About {rng.randint(2, 40) * 1000:,} people attended the festival in {rng.choice(CITIES)} this year.",
        f"The walk to the lighthouse is {rng.randint(3, 15)} kilometres long and takes about {rng.choice(NUMBER_WORDS)} hours.",
        f"Prices in the cafe rose by {rng.randint(2, 15)} percent last year.",
        f"The library was founded in {rng.randint(1850, 1990)} and moved to its current building in {rng.randint(1991, 2022)}.",
    ])


def t_memory(rng):
    region = rng.choice(REGIONS)
    return rng.choice([
        f"I still remember the first time I visited {region}.",
        f"My parents grew up in a small village in {region}, far from the nearest town.",
        f"We spent a whole summer in {region} and never wanted to leave.",
    ])


TEMPLATES = [
    t_past_habit, t_present_habit, t_progressive, t_perfect, t_weather, t_city,
    t_travel, t_nature, t_job, t_company, t_institution, t_review, t_place,
    t_problem, t_instruction, t_question, t_conditional, t_found, t_reported,
    t_chat, t_email, t_numbers, t_memory,
]


def make_line(rng: random.Random) -> str:
    n_sentences = rng.choices([1, 2, 3], weights=[5, 4, 2])[0]
    return " ".join(rng.choice(TEMPLATES)(rng) for _ in range(n_sentences))


def generate(n_lines: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    seen: set[str] = set()
    lines: list[str] = []
    while len(lines) < n_lines:
        line = make_line(rng)
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--lines", type=int, default=1500)
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).with_name("raw_text.jsonl"))
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    with args.output.open("w", encoding="utf8") as f:
        for line in generate(args.lines, args.seed):
            f.write(json.dumps({"text": line}, ensure_ascii=False) + "\n")
    print(f"wrote {args.lines} lines to {args.output}")


if __name__ == "__main__":
    main()
