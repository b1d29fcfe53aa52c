"""Text templates for the scenario: ordinary posts, the trigger post, and replies by intent.

The people are fictional. Abusive and threatening templates exist so that harm detection and
the spillover analysis have something real-looking to find; each is labelled in the ground truth.
"""

from __future__ import annotations

import random

TOPICS = [
    "Petrol prices are up again and nobody in Westminster cares.",
    "Great turnout at the rally today, thank you all for coming!",
    "The BBC won't report this but you should read it yourself: {link}",
    "Farmers are being crushed by this inheritance tax. Stand with them.",
    "Two-tier policing is real and everyone can see it now.",
    "Free speech is under attack in this country. Share before they delete it.",
    "Interesting piece on energy policy here {link}",
    "We need a general election NOW. The public never voted for this.",
    "Football tonight. Come on England!",
    "Another week, another broken promise from this government.",
    "Our high streets are dying and the councils just keep raising rates.",
    "Who else thinks the mainstream media has lost all credibility?",
]

TRIGGER = (
    "{name} is a disgusting criminal who covered for the grooming gangs. She should be jailed, "
    "not sitting in cabinet. {tag} {link}"
)

SUPPORTIVE_REPLIES = [
    "Absolutely right. Lock her up.",
    "Finally someone says it. {surname} has to go.",
    "100% agree, she belongs in prison {tag}",
    "Spot on as always",
    "Said it for years. Jail {surname}.",
]

ABUSIVE = [
    "{name} is a disgusting liar and a disgrace to this country",
    "@{handle} you are a corrupt, useless excuse for a minister",
    "{surname} is vile scum. Resign you pathetic woman",
    "what a traitor {name} is, absolute filth {tag}",
    "@{handle} nobody can stand you, you lying hag",
]

THREATS = [
    "{name} should be hanged for what she did",
    "@{handle} we know where you live. watch your back",
    "someone needs to deal with {surname} permanently",
    "{surname} deserves a beating, and she'll get one",
    "@{handle} you won't be safe walking home after this",
]

# The comparison pool: other public figures, protected too, whom the trigger post does not name.
POOL = [
    ("Priya Raman", "Minister for Housing"), ("Tom Ellery", "Minister for Transport"),
    ("Grace Adeyemi", "Minister for Schools"), ("Owen Pritchard", "Member of Parliament"),
    ("Helen Marsh", "Minister for Health"), ("Rhys Llewellyn", "Member of Parliament"),
    ("Sana Qureshi", "Minister for Justice"), ("Callum Reid", "Member of Parliament"),
    ("Isla Fenwick", "Minister for Energy"), ("Daniel Okoro", "Member of Parliament"),
    ("Maeve Gallagher", "Minister for Culture"), ("Peter Lindqvist", "Member of Parliament"),
]  # fmt: skip
POOL_ABUSIVE = [
    "{name} is a disgusting liar and a disgrace to this country",
    "@{handle} you are a corrupt, useless excuse for a politician",
    "{surname} is vile scum. Resign now",
    "what a traitor {name} is, absolute filth {tag}",
]
POOL_NEUTRAL = [
    "{name} is speaking at the committee hearing this afternoon",
    "Read the full statement from {name} here {link}",
    "Disagree with {surname} on this bill but the debate was useful",
]

NEUTRAL_MENTIONS = [
    "Minister {surname} announced new safeguarding funding today {link}",
    "{name} is speaking at the committee hearing this afternoon",
    "Interview with the Safeguarding Minister on the radio this morning",
    "Read the full statement from {name} here {link}",
    "@{handle} thank you for visiting our school today",
    "Disagree with {surname} on this bill but the debate was useful",
]

GENERIC_REPLIES = [
    "Spot on as always",
    "Well said.",
    "Exactly this.",
    "Couldn't agree more",
    "This needs to be heard",
    "Not sure about this one",
]

PUSHBACK_REPLIES = [
    "This is dangerous rhetoric and you know it.",
    "Source? This is a serious accusation.",
    "Calling for a minister to be jailed with no evidence is reckless.",
    "Reported. This is how people get hurt.",
]

COORDINATED = [
    "{surname} must resign NOW {tag}",
    "{surname} must resign now!! {tag}",
    "Resign now {surname} {tag}",
]

# The ring's copy-paste claim, reworded a little by each account.
COORDINATED_CLAIM = [
    "{surname} has lied to the whole country and must resign now before more damage is done {tag}",
    "{surname} lied to the whole country and must resign now before more damage is done {tag}",
    "{surname} has lied to the whole country and must resign NOW before more damage is done! {tag}",
    "{surname} has lied to the country and must resign now before more damage is done {tag}",
]

# The minister's own posts after the trigger, and the replies a coordinated attack sends to them:
# the same insult, lightly varied, from every attacker within a minute or two.
MINISTER_POSTS = [
    "Today I met families at the new safeguarding hub. Their stories are why this work matters.",
    "Thank you to everyone who joined the consultation on online safety. Our response follows next week.",
    "Proud to open the survivors' support centre this morning with local charities.",
    "My statement on the threats made against public servants this week: we will not be intimidated.",
]
REPLY_ATTACK = [
    "@{handle} resign now you lying disgrace, everyone knows what you did",
    "@{handle} resign now, you lying disgrace. everyone knows what you did",
    "@{handle} RESIGN NOW you lying disgrace everyone knows what you did",
    "@{handle} resign now you lying disgrace, everyone knows what you did {tag}",
]

CHATTER = [
    "Lovely morning for a walk",
    "Anyone watching the match?",
    "New recipe turned out great tonight",
    "Can't believe it's Monday already",
    "Reading a brilliant book at the moment",
    "The train is late again",
    "Happy birthday to my brother!",
    "This weather is ridiculous",
]

LINKS = [
    "https://www.example-news.co.uk/politics/2026/10/minister-cover-up",
    "https://truthdaily.example/grooming-scandal-exposed",
    "https://www.example-news.co.uk/uk/safeguarding-funding",
]


def fill(template: str, rng: random.Random, person: dict[str, str]) -> tuple[str, list[str]]:
    """The template with the person's names filled in, and the links it contains."""
    link = rng.choice(LINKS)
    text = template.format(link=link, **person)
    return text, ([link] if link in text else [])


# The narratives the watched account pushes in turn over the baseline weeks (the sequence of the
# case behind reachwatch), each in many wordings; a few other accounts take each one up later.
# `examples` are how an analyst would describe it: they never appear as posts.
NARRATIVES: dict[str, dict[str, list[str]]] = {
    "two-tier-policing": {
        "examples": [
            "The police treat protesters differently depending on who they are: two-tier policing",
            "One law for some, another for everyone else, and the police enforce it unequally",
        ],
        "posts": [
            "Two-tier policing is real and everyone can see it now.",
            "Arrested for a post online while others riot and walk free. Two-tier justice.",
            "The police go easy on some groups and crack down hard on ordinary people.",
            "One rule for them, another for us. The police have picked a side.",
            "Why do some protesters get escorted and others get handcuffed? Two tier policing.",
            "Equal justice under the law is dead when the police choose who to arrest.",
            "Officers kneel for one march and charge the next. Everyone has noticed.",
        ],
    },
    "farm-inheritance-tax": {
        "examples": [
            "The inheritance tax on farms will force family farmers to sell land handed down for generations",
        ],
        "posts": [
            "Farmers are being crushed by this inheritance tax. Stand with them.",
            "The family farm tax will break up farms that have been handed down for generations.",
            "No farmers, no food. Scrap the death tax on family farms now.",
            "Tractors in Whitehall today because this government wants to tax farmers off their land.",
            "A farmer's son now faces a huge inheritance bill just to keep working the land.",
            "They are taxing British agriculture to death and calling it fairness.",
        ],
    },
    "new-election": {
        "examples": [
            "This government has no mandate and must call a general election",
            "The public demand a new general election now",
        ],
        "posts": [
            "We need a general election NOW. The public never voted for this.",
            "This government has lost all legitimacy. Call an election.",
            "Millions have signed the petition for a fresh general election. Listen to them.",
            "Dissolve parliament and let the people decide. Election now.",
            "No mandate, no trust, no excuse: give us a new election.",
            "They are terrified of the voters. That is why they won't call an election.",
        ],
    },
}

NARRATIVE_OF = {text: theme for theme, plan in NARRATIVES.items() for text in plan["posts"]}
