"""The default deck of health cards, in this project's own words.

The first migration loads it, and new tribes start from a copy of it. Keep the names
stable: they identify the cards of the default deck in existing databases.
"""

from __future__ import annotations

DEFAULT_DECK: list[dict[str, str]] = [
    {
        "name": "Easy to release",
        "awesome": "Getting a change in front of users is routine: small, quick and calm.",
        "crappy": "Every release is a big event that takes days, risk and a lot of nerves.",
    },
    {
        "name": "Suitable process",
        "awesome": "The way we work fits us, and we change it whenever it stops fitting.",
        "crappy": "Our process gets in the way, and we follow it because we were told to.",
    },
    {
        "name": "Tech quality",
        "awesome": "Our code is a pleasure to change; debt is small and we pay it down.",
        "crappy": "The code fights back; every change breaks something somewhere else.",
    },
    {
        "name": "Value",
        "awesome": "We ship things that matter to the people who use them, and we can tell.",
        "crappy": "We are busy, but we doubt anyone would notice if our work disappeared.",
    },
    {
        "name": "Speed",
        "awesome": "Work flows: we finish things quickly and seldom wait on anybody.",
        "crappy": "Everything drags; we are always blocked, interrupted or waiting.",
    },
    {
        "name": "Mission",
        "awesome": "We know why we are here, and the goal is one we care about.",
        "crappy": "We have no idea where we are heading or why it would matter.",
    },
    {
        "name": "Fun",
        "awesome": "We enjoy coming to work and working together; there is energy here.",
        "crappy": "Work is a grind and the mood is flat.",
    },
    {
        "name": "Learning",
        "awesome": "We learn something new all the time and have room to experiment.",
        "crappy": "There is never time to learn; we repeat the same things every week.",
    },
    {
        "name": "Support",
        "awesome": "When we ask for help we get it, quickly and with goodwill.",
        "crappy": "We are on our own; asking for help goes nowhere.",
    },
    {
        "name": "Pawns or players",
        "awesome": "We shape our own work and decide how to reach our goals.",
        "crappy": "Decisions are made elsewhere and handed to us to carry out.",
    },
    {
        "name": "Teamwork",
        "awesome": "We are a real team: we help each other and share the load.",
        "crappy": "We are individuals who happen to sit together, each with their own tasks.",
    },
]
