"""The default deck of health cards, in this project's own words.

The migrations load it, in English and in Swedish, and a new tribe starts from a copy of it in
the tribe's language. Keep the names stable: they identify the cards of the default deck in
existing databases.
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

# The same deck in Swedish, card for card: a tribe whose language is Swedish starts from it.
DEFAULT_DECK_SV: list[dict[str, str]] = [
    {
        "name": "Lätt att släppa",
        "awesome": "Att få ut en ändring till användarna är vardag: litet, snabbt och lugnt.",
        "crappy": "Varje release är en stor händelse som kostar dagar, risker och mycket nerver.",
    },
    {
        "name": "Passande arbetssätt",
        "awesome": "Vårt sätt att arbeta passar oss, och vi ändrar det så fort det slutar passa.",
        "crappy": "Vår process står i vägen, och vi följer den för att vi blivit tillsagda.",
    },
    {
        "name": "Teknisk kvalitet",
        "awesome": "Vår kod är ett nöje att ändra; skulden är liten och vi betalar av den.",
        "crappy": "Koden slår tillbaka; varje ändring förstör något någon annanstans.",
    },
    {
        "name": "Värde",
        "awesome": "Vi levererar sådant som betyder något för dem som använder det, och vi märker det.",
        "crappy": "Vi har fullt upp, men vi tvivlar på att någon skulle märka om vårt arbete försvann.",
    },
    {
        "name": "Fart",
        "awesome": "Arbetet flyter: vi blir klara snabbt och väntar sällan på någon.",
        "crappy": "Allt drar ut på tiden; vi är alltid blockerade, avbrutna eller väntar.",
    },
    {
        "name": "Uppdrag",
        "awesome": "Vi vet varför vi finns här, och målet är något vi bryr oss om.",
        "crappy": "Vi har ingen aning om vart vi är på väg eller varför det skulle spela roll.",
    },
    {
        "name": "Kul",
        "awesome": "Vi tycker om att gå till jobbet och att arbeta tillsammans; här finns energi.",
        "crappy": "Jobbet är ett slit och stämningen är platt.",
    },
    {
        "name": "Lärande",
        "awesome": "Vi lär oss något nytt hela tiden och har utrymme att experimentera.",
        "crappy": "Det finns aldrig tid att lära sig; vi gör samma saker varje vecka.",
    },
    {
        "name": "Stöd",
        "awesome": "När vi ber om hjälp får vi den, snabbt och med god vilja.",
        "crappy": "Vi är utlämnade åt oss själva; att be om hjälp leder ingenstans.",
    },
    {
        "name": "Bönder eller spelare",
        "awesome": "Vi formar vårt eget arbete och bestämmer hur vi når våra mål.",
        "crappy": "Besluten fattas någon annanstans och lämnas över till oss att genomföra.",
    },
    {
        "name": "Lagarbete",
        "awesome": "Vi är ett riktigt team: vi hjälper varandra och delar på bördan.",
        "crappy": "Vi är individer som råkar sitta ihop, var och en med sina egna uppgifter.",
    },
]

# The default deck in each language of settings.LANGUAGES.
DEFAULT_DECKS: dict[str, list[dict[str, str]]] = {"en": DEFAULT_DECK, "sv": DEFAULT_DECK_SV}
