"""Knowledge packs: a medicine's dosing rules as cited, typed, validated data."""

from .loader import data_folder, load_pack, load_pack_file, shipped_profiles
from .schema import Citation, Pack, Range, Rule, Severity, Source

__all__ = [
    "Citation",
    "Pack",
    "Range",
    "Rule",
    "Severity",
    "Source",
    "data_folder",
    "load_pack",
    "load_pack_file",
    "shipped_profiles",
]
