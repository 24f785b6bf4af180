"""Word lists for the synthetic PASTA-LANG corpus (pure data, stdlib only).

Every list of *subjects* (the things a prompt is about) is split into a training
part and a held-out TEST part by `split_of()` in corpus.py; generic pools
(aspects, benefits, sentence templates) are shared by both splits.
"""

# ---------------------------------------------------------------------------
# Subjects that can be *done* (activities). Each category: the objects, the
# phrase templates that turn an object into an activity, and a definition.
# ---------------------------------------------------------------------------

ACTIVITY_CATEGORIES = {
    "language": {
        "objects": [
            "Spanish", "French", "German", "Italian", "Portuguese", "Japanese", "Korean",
            "Mandarin", "Arabic", "Hindi", "Russian", "Dutch", "Swedish", "Greek", "Turkish",
            "Polish", "Vietnamese", "Thai", "Swahili", "Hebrew", "Norwegian", "Finnish",
            "Danish", "Czech", "Indonesian", "Tagalog", "Irish", "Welsh", "Hungarian",
            "Romanian", "Ukrainian", "Persian", "Bengali", "Icelandic", "Catalan", "Basque",
            "Latin", "Esperanto", "Malay", "Tamil",
        ],
        "activity": ["learning {o}", "practicing {o}", "speaking {o}", "studying {o}"],
        "kind": "a language",
        "plural": "languages",
        "extra": [
            "Millions of people use it at home, at work and in school.",
            "It has its own grammar, sounds and written form.",
            "Learners usually start with greetings and simple questions.",
        ],
    },
    "instrument": {
        "objects": [
            "piano", "guitar", "violin", "cello", "drums", "flute", "trumpet", "saxophone",
            "clarinet", "harp", "ukulele", "banjo", "accordion", "harmonica", "bass guitar",
            "oboe", "trombone", "mandolin", "xylophone", "bagpipes", "viola", "tuba",
            "French horn", "sitar", "synthesizer", "recorder", "marimba", "double bass",
            "bassoon", "piccolo", "cajon", "tambourine", "organ", "lute", "zither", "kalimba",
        ],
        "activity": ["playing the {o}", "learning the {o}", "practicing the {o}"],
        "kind": "a musical instrument",
        "plural": "musical instruments",
        "extra": [
            "People play it in bands, orchestras and at home.",
            "It takes regular practice to play it well.",
            "Its sound can be soft or loud depending on the player.",
        ],
    },
    "sport": {
        "objects": [
            "tennis", "soccer", "basketball", "volleyball", "badminton", "golf", "baseball",
            "cricket", "rugby", "hockey", "table tennis", "squash", "handball", "lacrosse",
            "softball", "water polo", "curling", "fencing", "archery", "bowling", "judo",
            "karate", "boxing", "wrestling", "netball", "ultimate frisbee", "pickleball",
            "darts", "billiards", "dodgeball", "futsal", "polo",
        ],
        "activity": ["playing {o}", "getting better at {o}", "practicing {o}", "coaching {o}"],
        "kind": "a sport",
        "plural": "sports",
        "extra": [
            "It is played by amateurs and professionals around the world.",
            "Players need skill, focus and good fitness.",
            "It has clear rules and a way to keep score.",
        ],
    },
    "outdoor": {
        "objects": [
            "hiking", "camping", "cycling", "running", "swimming", "rowing", "kayaking",
            "surfing", "skiing", "snowboarding", "rock climbing", "sailing", "fishing",
            "birdwatching", "trail running", "ice skating", "horse riding", "scuba diving",
            "paddleboarding", "canoeing", "orienteering", "mountain biking", "snorkeling",
            "cross-country skiing", "backpacking", "geocaching", "windsurfing", "bouldering",
            "stargazing", "foraging", "roller skating", "walking",
        ],
        "activity": ["{o}", "getting started with {o}", "{o} as a beginner", "{o} on weekends"],
        "kind": "an outdoor activity",
        "plural": "outdoor activities",
        "extra": [
            "People enjoy it alone or with friends.",
            "It is a good way to spend time outside and stay active.",
            "Beginners can start slowly and build up over time.",
        ],
    },
    "craft": {
        "objects": [
            "knitting", "painting", "drawing", "pottery", "woodworking", "photography",
            "calligraphy", "sewing", "quilting", "origami", "embroidery", "baking",
            "gardening", "journaling", "beekeeping", "candle making", "soap making",
            "crochet", "weaving", "jewelry making", "bookbinding", "glassblowing",
            "watercolor painting", "sketching", "scrapbooking", "model building",
            "leather crafting", "wood carving", "stained glass", "screen printing",
            "macrame", "bonsai care", "composting", "home brewing", "cake decorating",
            "flower arranging",
        ],
        "activity": ["{o}", "getting into {o}", "{o} at home", "{o} as a hobby"],
        "kind": "a hobby",
        "plural": "hobbies",
        "extra": [
            "Many people do it to relax after work.",
            "It needs a few basic tools and some patience.",
            "The results can be kept, shared or given as gifts.",
        ],
    },
    "dish": {
        "objects": [
            "bread", "pasta", "risotto", "curry", "pancakes", "dumplings", "soup", "lasagna",
            "sushi", "tacos", "paella", "omelettes", "pizza", "chili", "stew", "falafel",
            "granola", "muffins", "apple pie", "fried rice", "ramen", "gnocchi", "hummus",
            "salad", "burritos", "noodles", "waffles", "crepes", "meatballs", "lentil soup",
            "banana bread", "pad thai", "goulash", "quiche", "biscuits", "cornbread",
            "pierogi", "samosas", "spring rolls", "shakshuka",
        ],
        "activity": ["making {o}", "cooking {o} at home", "making {o} from scratch"],
        "kind": "a dish",
        "plural": "dishes",
        "extra": [
            "It can be made with simple ingredients.",
            "Many families have their own version of it.",
            "It tastes best when it is made fresh.",
        ],
    },
    "study": {
        "objects": [
            "chemistry", "algebra", "geometry", "history", "biology", "physics", "economics",
            "statistics", "geography", "philosophy", "psychology", "astronomy", "calculus",
            "music theory", "art history", "computer science", "accounting", "linguistics",
            "sociology", "political science", "anatomy", "genetics", "ecology", "geology",
            "literature", "architecture", "marketing", "law", "nutrition", "robotics",
        ],
        "activity": ["studying {o}", "learning {o}", "preparing for a {o} exam", "teaching {o}"],
        "kind": "a field of study",
        "plural": "fields of study",
        "extra": [
            "It is taught in schools and universities.",
            "Students learn its main ideas step by step.",
            "It has its own terms, methods and questions.",
        ],
    },
}

# Life tasks: each phrase is its own subject (held out as a whole).
LIFE_TASKS = [
    "moving to a new city", "saving money", "planning a wedding", "studying for exams",
    "starting a business", "writing a novel", "preparing for a job interview",
    "learning to code", "organizing a closet", "training a puppy", "buying a used car",
    "renting a first apartment", "running a meeting", "public speaking", "time management",
    "writing a resume", "negotiating a salary", "starting a podcast",
    "hosting a dinner party", "traveling on a budget", "packing for a long trip",
    "getting better sleep", "eating more vegetables", "drinking more water",
    "reducing screen time", "keeping a clean kitchen", "decluttering a garage",
    "painting a room", "fixing a leaky faucet", "caring for houseplants",
    "raising chickens", "teaching a child to read", "volunteering", "making new friends",
    "managing stress", "staying focused", "writing better emails", "taking notes in class",
    "learning to drive", "preparing for a marathon", "losing weight safely",
    "building a website", "starting a blog", "selling things online", "planning a garden",
    "meal prepping", "budgeting for groceries", "paying off debt", "buying a house",
    "choosing a laptop", "backing up files", "keeping a journal", "reading more books",
    "learning to meditate", "becoming a morning person", "commuting by bike",
    "looking after an elderly parent", "adopting a cat", "taking better photos",
    "running a book club", "coaching a youth team", "moving abroad", "changing careers",
    "starting a new job", "working night shifts", "writing a thesis", "giving feedback",
    "leading a small team", "planning a road trip", "camping with kids",
    "organizing a charity run", "hosting a garage sale", "recording a song",
    "editing videos", "designing a logo", "learning sign language", "keeping bees",
    "building a treehouse", "repairing a bicycle", "baking for a bake sale",
    "setting up a home office", "saving energy at home", "recycling at home",
    "shopping secondhand", "growing tomatoes", "brewing coffee", "making a budget",
    "preparing for winter", "studying abroad", "applying to college", "writing poetry",
    "learning chess", "solving puzzles faster", "memorizing a speech",
]

# Things that can be compared, described and weighed (pros and cons).
THING_GROUPS = {
    "vehicle": ["electric cars", "bicycles", "motorcycles", "trains", "buses", "scooters",
                "trams", "ferries", "vans", "pickup trucks", "hybrid cars", "taxis",
                "cargo bikes", "subways", "carpools", "electric bikes"],
    "device": ["smartphones", "laptops", "tablets", "smartwatches", "e-readers",
               "desktop computers", "game consoles", "smart speakers", "drones",
               "fitness trackers", "digital cameras", "wireless earbuds", "projectors",
               "mechanical keyboards", "robot vacuums", "smart thermostats"],
    "pet": ["cats", "dogs", "rabbits", "hamsters", "parrots", "goldfish", "turtles",
            "guinea pigs", "ferrets", "lizards", "canaries", "chickens", "horses",
            "hermit crabs", "rats", "snakes"],
    "home": ["apartments", "houses", "tiny homes", "townhouses", "cabins", "houseboats",
             "shared flats", "dormitories", "farmhouses", "studio apartments", "condos",
             "mobile homes", "loft apartments"],
    "energy": ["solar panels", "wind turbines", "heat pumps", "gas boilers",
               "wood stoves", "electric heaters", "geothermal heating", "home batteries",
               "LED bulbs", "insulated windows", "rooftop gardens", "rain barrels"],
    "material": ["wood", "steel", "glass", "bamboo", "concrete", "aluminum", "copper",
                 "cotton", "wool", "leather", "plastic", "stone", "brick", "linen",
                 "ceramic", "cork"],
    "work": ["working from home", "open offices", "four-day work weeks", "freelancing",
             "night shifts", "part-time jobs", "internships", "remote teams",
             "flexible hours", "coworking spaces", "job sharing", "gig work",
             "self-employment"],
    "drink": ["coffee", "tea", "green tea", "oat milk", "orange juice", "sparkling water",
              "hot chocolate", "smoothies", "kombucha", "lemonade", "iced tea",
              "almond milk", "energy drinks"],
    "media": ["podcasts", "audiobooks", "paper books", "newspapers", "streaming services",
              "radio", "magazines", "video games", "board games", "comic books",
              "online courses", "documentaries", "vinyl records"],
    "place": ["big cities", "small towns", "the countryside", "the seaside",
              "the mountains", "suburbs", "islands", "college towns", "desert towns",
              "lakeside villages", "river towns"],
}

THING_KIND = {
    "vehicle": "a way to get around",
    "device": "a kind of device",
    "pet": "a kind of pet",
    "home": "a kind of home",
    "energy": "a way to power or heat a home",
    "material": "a building and crafting material",
    "work": "a way of working",
    "drink": "a drink",
    "media": "a kind of media",
    "place": "a kind of place to live",
}

THING_EXTRA = {
    "vehicle": ["Many people use them every day.", "They differ in cost, speed and comfort."],
    "device": ["Most of them need to be charged.", "People use them for work and fun."],
    "pet": ["They need food, care and attention.", "Many families keep them at home."],
    "home": ["They come in many sizes and prices.", "Location matters as much as the building."],
    "energy": ["They can lower energy bills over time.", "Installation costs vary a lot."],
    "material": ["It has been used for a very long time.", "It is chosen for its strength or feel."],
    "work": ["It suits some people better than others.", "More companies allow it today."],
    "drink": ["Many people have it every day.", "It can be served hot or cold."],
    "media": ["People enjoy them in their free time.", "They can teach as well as entertain."],
    "place": ["Each one offers a different pace of life.", "Prices and jobs vary from place to place."],
}

# Cities for trip plans.
CITIES = [
    "Paris", "Lisbon", "Kyoto", "Rome", "Berlin", "Vienna", "Prague", "Budapest",
    "Barcelona", "Madrid", "Seville", "Porto", "Amsterdam", "Copenhagen", "Stockholm",
    "Oslo", "Helsinki", "Dublin", "Edinburgh", "London", "Istanbul", "Athens", "Cairo",
    "Marrakech", "Cape Town", "Nairobi", "Mumbai", "Delhi", "Bangkok", "Hanoi",
    "Singapore", "Seoul", "Tokyo", "Osaka", "Taipei", "Hong Kong", "Sydney", "Melbourne",
    "Auckland", "Vancouver", "Toronto", "Montreal", "New York", "Chicago", "Boston",
    "San Francisco", "Mexico City", "Havana", "Lima", "Buenos Aires", "Santiago",
    "Rio de Janeiro", "Bogota", "Quito", "Reykjavik", "Tallinn", "Riga", "Krakow",
    "Florence", "Venice", "Naples", "Munich", "Zurich", "Geneva", "Brussels", "Bruges",
]

TRIP_ACTIVITIES = [
    "old town walk", "museums", "local markets", "food tour", "river cruise", "parks",
    "day trip", "historic sites", "art galleries", "street food", "cafes", "viewpoints",
    "shopping streets", "beaches", "gardens", "cathedral visit", "night market",
    "bike tour", "cooking class", "live music", "harbor walk", "castle visit",
    "hidden courtyards", "local festival", "bookshops", "hiking trail",
]

# Themes for idea lists.
IDEA_THEMES = [
    "a birthday party", "a rainy afternoon", "a team building day", "a school fundraiser",
    "a family reunion", "a weekend trip", "a science fair project", "a small garden",
    "a podcast", "a blog", "a short film", "a cheap date night", "a kids' party",
    "a book club meeting", "a picnic", "a holiday dinner", "a wedding gift",
    "a retirement party", "a startup", "a mobile app", "a video channel",
    "a community event", "a summer camp", "a classroom game", "a staff meeting",
    "a neighborhood cleanup", "a charity drive", "a housewarming party",
    "a family game night", "a snow day", "a road trip", "a photography project",
    "a baby shower", "a graduation party", "a farewell party", "a study group",
    "a craft fair", "a garden party", "an office party", "a library event",
    "a museum visit with kids", "a beach day", "a camping weekend", "a small cafe",
    "a bake sale", "a talent show", "a sports day", "a holiday market stall",
    "a coding club", "a writing workshop", "a local newsletter", "a dinner menu",
    "a festival booth", "a school play", "a reading challenge", "a fitness challenge",
]

IDEA_ITEMS = [
    "scavenger hunt", "photo booth", "themed playlist", "potluck", "quiz night",
    "craft table", "costume contest", "karaoke", "board game corner", "movie marathon",
    "cooking contest", "treasure map", "memory jar", "group mural", "puppet show",
    "dance lesson", "raffle", "bake-off", "mini olympics", "story circle",
    "escape room", "poetry reading", "plant swap", "book swap", "trivia board",
    "DIY pizza bar", "outdoor cinema", "time capsule", "lantern walk", "garden tour",
    "charity auction", "talent hour", "recipe exchange", "guided tour", "photo walk",
    "sketch challenge", "music jam", "tasting menu", "open mic", "gratitude wall",
    "mystery box", "skill swap", "family tree chart", "star party", "kite flying",
    "obstacle course", "picture quiz", "origami station", "song contest", "guest speaker",
]

# ---------------------------------------------------------------------------
# Generic pools (shared by both splits).
# ---------------------------------------------------------------------------

TIP_ASPECTS = [
    "schedule", "warm-up", "equipment", "budget", "rest", "practice", "goals", "feedback",
    "nutrition", "posture", "breathing", "patience", "safety", "community", "lessons",
    "notes", "progress tracking", "small steps", "variety", "technique", "focus",
    "recording yourself", "mentors", "reading", "online videos", "challenges", "routine",
    "environment", "sleep", "hydration", "mindset", "consistency", "tools", "planning",
    "reflection", "rewards", "partners", "time limits", "preparation", "cleanup",
    "storage", "quality", "fundamentals", "mistakes", "experiments", "rhythm", "timing",
    "stretching", "checklists", "curiosity", "comfort", "weather", "clothing",
    "good habits", "deadlines", "priorities", "listening", "repetition", "breaks",
    "motivation", "research", "organization", "honesty", "kindness",
]

BENEFITS = [
    "health", "stress relief", "new friends", "confidence", "focus", "creativity",
    "discipline", "fun", "memory", "career growth", "patience", "better sleep", "energy",
    "self-expression", "savings", "independence", "problem solving", "time outdoors",
    "family time", "a better mood", "new skills", "curiosity", "travel", "calm",
    "fitness", "pride", "balance", "teamwork", "a sense of purpose", "resilience",
    "learning", "mindfulness", "community", "a fresh routine", "adventure",
]

STEP_TOPICS = [
    "research", "basic gear", "a first lesson", "a weekly schedule", "daily practice",
    "a local group", "a progress review", "a small goal", "a budget", "a practice space",
    "a beginner guide", "a mentor", "a trial run", "a checklist", "the basics",
    "a first project", "a routine", "feedback", "a long-term goal", "a reward",
    "a journal", "safety rules", "a warm-up", "a timeline", "a test",
]

MISTAKES = [
    "skipping the basics", "rushing", "no rest days", "poor posture",
    "comparing yourself to others", "buying too much gear", "ignoring feedback",
    "irregular practice", "vague goals", "giving up early", "no warm-up",
    "too much too soon", "poor planning", "ignoring safety", "working alone",
    "no clear budget", "fear of mistakes", "copying others", "skipping breaks",
    "no notes", "perfectionism", "bad timing", "ignoring the weather", "cheap tools",
    "forgetting to review", "multitasking",
]

THING_ASPECTS = [
    "cost", "comfort", "safety", "maintenance", "speed", "convenience", "durability",
    "environmental impact", "noise", "space", "style", "reliability", "availability",
    "learning curve", "flexibility", "resale value", "health effects", "social life",
    "energy use", "privacy", "setup time", "daily use", "long-term value", "variety",
]

EVENT_TASKS = [
    "venue", "invitations", "food", "music", "decorations", "budget", "schedule",
    "cleanup", "guest list", "volunteers", "games", "transport", "photos", "supplies",
    "welcome table", "seating", "drinks", "signs", "backup plan", "thank-you notes",
]

STORY_CHARACTERS = [
    "a young baker", "an old fisherman", "a clever fox", "a shy robot", "a brave girl",
    "a curious boy", "a tired mail carrier", "a retired teacher", "a lost puppy",
    "a friendly giant", "a small dragon", "a busy nurse", "a quiet librarian",
    "a traveling musician", "a stubborn goat", "a wise owl", "a new student",
    "a lonely lighthouse keeper", "a young inventor", "a grumpy cat", "a kind farmer",
    "a nervous pilot", "a lucky sailor", "a sleepy bear", "a cheerful gardener",
    "a young detective", "a clumsy wizard", "a patient grandmother", "a talkative parrot",
    "a hungry mouse", "a careful painter", "a proud rooster", "a homesick astronaut",
    "a street juggler", "a junior chef", "a forgetful king", "a tiny turtle",
    "a night watchman", "a beekeeper", "a bus driver", "a young violinist",
    "a school janitor", "a city pigeon", "a mountain guide", "a river otter",
    "a stray dog", "a shop owner", "a ballet dancer", "a snowman", "a paper boat",
]

STORY_GOALS = [
    "wanted to find a lost key", "hoped to win a contest", "needed to fix a broken bridge",
    "tried to bake the perfect cake", "wanted to see the sea", "searched for a missing friend",
    "dreamed of flying", "had to deliver an important letter", "wanted to learn a song",
    "was looking for a new home", "needed to cross a wide river", "wanted to make a friend",
    "had to finish a painting before sunset", "wanted to climb the tallest hill",
    "tried to catch a falling star", "had to wake up a sleeping town",
    "wanted to plant a garden", "needed to find the way home", "hoped to open a shop",
    "had to solve a strange puzzle", "wanted to build a boat", "tried to stay awake all night",
    "wanted to win a race", "needed to return a borrowed book", "hoped to meet the moon",
]

STORY_PLACES = [
    "in a small village", "by the sea", "in a busy city", "on a quiet farm",
    "near a dark forest", "at the edge of a desert", "on a snowy mountain",
    "in an old castle", "on a tiny island", "beside a long river", "in a crowded market",
    "under a big bridge", "in a green valley", "at a train station", "in a noisy harbor",
]

OPPOSITES = [
    ("hot", "cold"), ("big", "small"), ("fast", "slow"), ("happy", "sad"),
    ("light", "dark"), ("early", "late"), ("open", "closed"), ("full", "empty"),
    ("strong", "weak"), ("high", "low"), ("young", "old"), ("rich", "poor"),
    ("loud", "quiet"), ("wet", "dry"), ("hard", "soft"), ("clean", "dirty"),
    ("near", "far"), ("easy", "difficult"), ("heavy", "light"), ("cheap", "expensive"),
    ("inside", "outside"), ("begin", "end"), ("buy", "sell"), ("push", "pull"),
    ("win", "lose"), ("remember", "forget"), ("accept", "refuse"), ("arrive", "leave"),
    ("ancient", "modern"), ("brave", "cowardly"), ("calm", "nervous"), ("wide", "narrow"),
    ("thick", "thin"), ("deep", "shallow"), ("sharp", "dull"), ("sweet", "bitter"),
    ("friend", "enemy"), ("day", "night"), ("summer", "winter"), ("north", "south"),
    ("up", "down"), ("left", "right"), ("true", "false"), ("always", "never"),
    ("increase", "decrease"), ("maximum", "minimum"), ("question", "answer"),
    ("public", "private"), ("simple", "complex"), ("polite", "rude"),
]

TIMEFRAMES = [
    "ten minutes a day", "one evening a week", "half an hour each morning",
    "a few minutes before bed", "twenty minutes after lunch", "one hour on Sundays",
    "fifteen minutes a day", "two short sessions a week", "a quiet hour each weekend",
]

PERIODS = [
    "a few weeks", "a month", "two or three weeks", "a couple of months", "a season",
    "a few days", "the first month", "half a year",
]

NUM_WORDS = {
    1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
    9: "nine", 10: "ten",
}

ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth",
            7: "seventh", 8: "eighth"}
