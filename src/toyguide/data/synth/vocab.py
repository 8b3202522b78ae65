"""Vocabulary and market facts per taxonomy function, from which toys are composed.

Every number here is a plausible guess, not a measurement: it only has to make the synthetic
shop look like a toy shop and give each task a signal to learn. Brand names are invented.
"""

from __future__ import annotations

from dataclasses import dataclass

from toyguide.data.taxonomy import FUNCTIONS

__all__ = ["GENERAL_BRANDS", "GENERAL_SENTENCES", "REGIONS", "SPECS", "FunctionSpec", "spec_table"]


@dataclass(frozen=True)
class FunctionSpec:
    """What toys of one function look like: market share, price, targets, ages and words."""

    share: float  # share of the catalogue whose primary function this is
    price: float  # median list price in USD (prices are log-normal around it)
    gender: tuple[float, float, float]  # P(boy, girl, unisex target)
    ages: tuple[tuple[int, int], ...]  # typical age ranges in months (min, max)
    category: str  # the shop's own department label (free text)
    partners: tuple[str, ...]  # functions a toy of this one often also has
    brands: tuple[str, ...]
    themes: tuple[str, ...]  # neutral themes
    boy_themes: tuple[str, ...]
    girl_themes: tuple[str, ...]
    subjects: tuple[str, ...]
    products: tuple[str, ...]
    blurbs: tuple[str, ...]


GENERAL_BRANDS: tuple[str, ...] = ("Playmore", "KidVenture", "Brightbox", "Toyland")
GENERAL_SENTENCES: tuple[str, ...] = (
    "A great gift for birthdays and holidays.",
    "Meets all US toy safety standards.",
    "Packed in a gift-ready box.",
    "Hours of screen-free fun.",
    "Batteries not included.",
    "Loved by kids and parents alike.",
)
REGIONS: tuple[str, ...] = ("Northeast", "Midwest", "South", "West")

SPECS: dict[str, FunctionSpec] = {
    "building": FunctionSpec(
        share=0.09,
        price=32.0,
        gender=(0.3, 0.15, 0.55),
        ages=((18, 60), (36, 96), (60, 144), (96, 168), (144, 216)),
        category="Building & Construction",
        partners=("vehicles", "science_stem"),
        brands=("BrickWorks", "Blocktopia", "Stackers"),
        themes=("City", "Creative", "Classic"),
        boy_themes=("Mech", "Turbo", "Space Command"),
        girl_themes=("Friendship", "Sparkle", "Dream"),
        subjects=("Castle", "Fire Station", "Spaceship", "Treehouse", "Bridge", "Robot"),
        products=("Building Set", "Brick Kit", "Construction Set", "Block Bucket"),
        blurbs=(
            "Snap the bricks together and build it again and again.",
            "Compatible with all major brick brands.",
        ),
    ),
    "vehicles": FunctionSpec(
        share=0.09,
        price=26.0,
        gender=(0.6, 0.05, 0.35),
        ages=((18, 60), (36, 96), (60, 144), (96, 168)),
        category="Vehicles & Remote Control",
        partners=("building", "outdoor_active"),
        brands=("Zoomers", "RoadRush", "Wheelz"),
        themes=("Speedy", "City", "Mighty"),
        boy_themes=("Turbo", "Monster", "Racing"),
        girl_themes=("Pink Cruiser", "Glitter"),
        subjects=("Fire Truck", "Race Car", "Excavator", "Train", "Helicopter", "Off-Road Buggy"),
        products=("Remote Control Car", "Die-Cast Set", "Playset", "Track Set"),
        blurbs=(
            "Rugged wheels roll on carpet and hard floors.",
            "Rechargeable remote control with a 30 m range.",
        ),
    ),
    "dolls": FunctionSpec(
        share=0.08,
        price=22.0,
        gender=(0.05, 0.7, 0.25),
        ages=((24, 72), (36, 96), (60, 144)),
        category="Dolls & Accessories",
        partners=("pretend_play",),
        brands=("Dollyland", "Belle & Bow", "Rosie Rae"),
        themes=("Best Friends", "Family", "Fashion"),
        boy_themes=("Hero Buddy",),
        girl_themes=("Princess", "Sparkle", "Ballerina"),
        subjects=("Doll", "Baby Doll", "Dollhouse", "Fashion Doll"),
        products=("Doll Set", "Playset", "Wardrobe Pack", "Gift Set"),
        blurbs=("Comes with outfits to mix and match.", "Soft body and poseable arms and legs."),
    ),
    "action_figures": FunctionSpec(
        share=0.07,
        price=16.0,
        gender=(0.65, 0.1, 0.25),
        ages=((36, 96), (60, 144), (96, 216)),
        category="Action Figures & Playsets",
        partners=("animals_nature", "vehicles"),
        brands=("HeroForge", "Titan Toys", "Galaxy Guard"),
        themes=("Legends", "Galaxy", "Ultimate"),
        boy_themes=("Ninja", "Battle", "Robo Warrior"),
        girl_themes=("Super Girl Squad", "Star Heroine"),
        subjects=("Hero", "Knight", "Space Ranger", "Robot", "Pirate"),
        products=("Action Figure", "Figure Set", "Battle Pack", "Hideout Playset"),
        blurbs=(
            "Fully articulated with 12 points of movement.",
            "Includes weapons and accessories.",
        ),
    ),
    "plush": FunctionSpec(
        share=0.07,
        price=15.0,
        gender=(0.05, 0.35, 0.6),
        ages=((0, 36), (12, 60), (36, 120)),
        category="Stuffed Animals & Plush",
        partners=("baby_sensory", "animals_nature"),
        brands=("Cuddle Company", "Snugglebug", "Huggables"),
        themes=("Cuddly", "Snuggle", "Jumbo"),
        boy_themes=("Dino", "Monster"),
        girl_themes=("Unicorn", "Rainbow", "Kitty"),
        subjects=("Teddy Bear", "Bunny", "Puppy", "Elephant", "Penguin", "Sloth"),
        products=("Plush", "Soft Toy", "Stuffed Animal", "Pillow Pal"),
        blurbs=("Super-soft fabric, machine washable.", "Safety-stitched eyes for little ones."),
    ),
    "arts_crafts": FunctionSpec(
        share=0.07,
        price=14.0,
        gender=(0.05, 0.45, 0.5),
        ages=((36, 96), (60, 144), (96, 216)),
        category="Arts & Crafts",
        partners=("learning",),
        brands=("Crafty Kids", "ColorPop", "Make-It"),
        themes=("Creative", "Rainbow", "Studio"),
        boy_themes=("Slime Lab", "Monster"),
        girl_themes=("Jewelry", "Glitter", "Fairy"),
        subjects=("Paint", "Bead", "Clay", "Sticker", "Friendship Bracelet", "Origami"),
        products=("Craft Kit", "Activity Set", "Art Case", "Studio Set"),
        blurbs=("Washable, non-toxic colours.", "Everything in one box, no extra tools needed."),
    ),
    "puzzles": FunctionSpec(
        share=0.06,
        price=13.0,
        gender=(0.1, 0.1, 0.8),
        ages=((12, 48), (36, 96), (60, 144), (96, 216)),
        category="Puzzles",
        partners=("learning", "animals_nature"),
        brands=("PuzzleMania", "Piecewise", "Brainy Bee"),
        themes=("World Map", "Jigsaw", "Floor"),
        boy_themes=("Space", "Dinosaur"),
        girl_themes=("Fairy Garden", "Princess"),
        subjects=("Puzzle", "Jigsaw", "Peg Puzzle", "3D Puzzle"),
        products=("100 Pieces", "500 Pieces", "Puzzle Set", "Floor Puzzle"),
        blurbs=("Thick pieces that are easy to pick up.", "Comes with a poster to follow."),
    ),
    "games": FunctionSpec(
        share=0.07,
        price=18.0,
        gender=(0.05, 0.05, 0.9),
        ages=((36, 96), (60, 144), (96, 216)),
        category="Games",
        partners=("learning", "puzzles"),
        brands=("GameNight", "Dice and Co", "Family Fun"),
        themes=("Family", "Quick", "Party"),
        boy_themes=("Pirate", "Monster"),
        girl_themes=("Unicorn",),
        subjects=("Board Game", "Card Game", "Memory Game", "Strategy Game", "Dice Game"),
        products=("for Kids", "Travel Edition", "Deluxe Edition", "Family Pack"),
        blurbs=("For 2 to 6 players, 20 minutes a game.", "Easy rules, learned in minutes."),
    ),
    "science_stem": FunctionSpec(
        share=0.06,
        price=36.0,
        gender=(0.25, 0.1, 0.65),
        ages=((60, 144), (96, 168), (144, 216)),
        category="STEM & Science",
        partners=("building", "learning"),
        brands=("LabRats", "CodeCubs", "Eureka Kids"),
        themes=("Junior Scientist", "Discovery", "Maker"),
        boy_themes=("Robo", "Rocket"),
        girl_themes=("Crystal", "Chemistry Girls"),
        subjects=(
            "Coding Robot",
            "Chemistry Lab",
            "Crystal Growing",
            "Microscope",
            "Circuit",
            "Volcano",
        ),
        products=("Science Kit", "STEM Kit", "Experiment Set", "Robot Kit"),
        blurbs=("Step-by-step guide with 25 experiments.", "Teaches coding without a screen."),
    ),
    "learning": FunctionSpec(
        share=0.06,
        price=16.0,
        gender=(0.05, 0.05, 0.9),
        ages=((12, 48), (24, 72), (36, 96), (60, 120)),
        category="Learning & Education",
        partners=("puzzles", "games"),
        brands=("SmartStart", "ABC Buddies", "Little Scholars"),
        themes=("Learning", "My First", "Early Learning"),
        boy_themes=("Truck",),
        girl_themes=("Fairy",),
        subjects=("Alphabet", "Numbers", "Shapes", "Phonics", "Counting", "Clock"),
        products=("Learning Set", "Flash Cards", "Activity Board", "Tablet"),
        blurbs=("Builds early maths and reading skills.", "Designed with teachers."),
    ),
    "pretend_play": FunctionSpec(
        share=0.06,
        price=38.0,
        gender=(0.15, 0.45, 0.4),
        ages=((24, 72), (36, 96), (60, 120)),
        category="Pretend Play & Dress-Up",
        partners=("dolls",),
        brands=("Let's Pretend", "Mini Chef", "DressUp Box"),
        themes=("Deluxe", "Little", "Play"),
        boy_themes=("Builder", "Police"),
        girl_themes=("Princess", "Cafe", "Ballerina"),
        subjects=("Kitchen", "Tool Bench", "Doctor Kit", "Shop Till", "Costume", "Tea Set"),
        products=("Playset", "Role Play Set", "Dress-Up Set", "Play Kitchen"),
        blurbs=("Realistic sounds and lights.", "Lots of accessories for role play."),
    ),
    "outdoor_active": FunctionSpec(
        share=0.06,
        price=34.0,
        gender=(0.2, 0.15, 0.65),
        ages=((24, 72), (36, 120), (60, 144), (96, 216)),
        category="Sports & Outdoor Play",
        partners=("vehicles",),
        brands=("Outdoor Ace", "Sunny Days", "KickStart"),
        themes=("Backyard", "Sport", "Splash"),
        boy_themes=("Turbo", "Blaster"),
        girl_themes=("Flower", "Rainbow"),
        subjects=(
            "Scooter",
            "Trampoline",
            "Water Blaster",
            "Football Goal",
            "Swing",
            "Balance Bike",
        ),
        products=("Set", "Kit", "Outdoor Toy", "Sports Set"),
        blurbs=("Weatherproof for the garden.", "Gets children moving outside."),
    ),
    "music": FunctionSpec(
        share=0.04,
        price=22.0,
        gender=(0.05, 0.1, 0.85),
        ages=((6, 36), (12, 60), (36, 120)),
        category="Musical Instruments",
        partners=("baby_sensory", "learning"),
        brands=("TinyTunes", "Melody Makers", "Rhythm Kids"),
        themes=("Musical", "Jam", "Rock Star"),
        boy_themes=("Drum Hero",),
        girl_themes=("Pop Star", "Sparkle"),
        subjects=("Xylophone", "Drum", "Keyboard", "Guitar", "Microphone", "Maracas"),
        products=("Instrument", "Music Set", "Band Kit", "Toy"),
        blurbs=("Real notes, tuned by hand.", "Volume control for quieter play."),
    ),
    "baby_sensory": FunctionSpec(
        share=0.07,
        price=12.0,
        gender=(0.02, 0.03, 0.95),
        ages=((0, 12), (0, 24), (3, 18), (6, 36)),
        category="Baby & Toddler Toys",
        partners=("music", "learning", "plush"),
        brands=("Little Sprout", "BabyBloom", "Cooey"),
        themes=("Soft", "My First", "Sensory"),
        boy_themes=("Little Truck",),
        girl_themes=("Little Blossom",),
        subjects=(
            "Rattle",
            "Teether",
            "Activity Gym",
            "Stacking Rings",
            "Crinkle Book",
            "Bath Toys",
        ),
        products=("Set", "Toy", "Gift Set", "Activity Toy"),
        blurbs=("BPA-free and easy to clean.", "High-contrast colours for young eyes."),
    ),
    "animals_nature": FunctionSpec(
        share=0.05,
        price=17.0,
        gender=(0.3, 0.1, 0.6),
        ages=((24, 72), (36, 96), (60, 144)),
        category="Animals & Dinosaurs",
        partners=("action_figures", "science_stem", "puzzles"),
        brands=("WildWorld", "Dino Dig", "Wild Safari Kids"),
        themes=("Dino Explorer", "Safari", "Ocean Discovery"),
        boy_themes=("Jurassic Hunter", "Predator"),
        girl_themes=("Pony Meadow", "Woodland Friends"),
        subjects=("T-Rex", "Triceratops", "Lion", "Dolphin", "Horse", "Farm Animals"),
        products=("Figure Set", "Playset", "Adventure Kit", "Dig Kit"),
        blurbs=("Realistic hand-painted details.", "Fact cards about every animal included."),
    ),
}
assert tuple(SPECS) == FUNCTIONS, "SPECS must follow the taxonomy order"


def spec_table(attr: str) -> list:
    """One attribute of every spec, in taxonomy order (for building numpy tables)."""
    return [getattr(SPECS[f], attr) for f in FUNCTIONS]
