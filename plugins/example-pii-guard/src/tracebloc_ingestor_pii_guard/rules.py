"""What counts as a direct identifier: column-name patterns and value patterns.

Name rules look at the column's name only. Value rules run as one regular-expression
pass per batch and column (``pyarrow.compute``, RE2 syntax); Python sees only the
cells that already matched, to confirm an IBAN's length and check digits.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

# (what the name suggests, pattern over the normalised name). A pattern must end the
# name, so "customer_email" is refused while "email_verified" (a flag) is not.
NAME_RULES: tuple[tuple[str, str], ...] = (
    ("an e-mail address", r"e_?mail(?:_?address)?|mail_?address"),
    ("a phone number", r"(?:tele|cell_?|mobile_?)?phone(?:_?(?:number|no|nr))?|tel|mobile_?(?:number|no|nr)|fax(?:_?(?:number|no|nr))?"),
    (
        "a social security or national id number",
        r"ssn|social_?security(?:_?(?:number|no|nr))?|national_?(?:id|insurance)(?:_?(?:number|no|nr))?|tax_?(?:payer_?)?id|nino",
    ),
    ("a bank account (IBAN)", r"iban|bank_?account(?:_?(?:number|no|nr))?|account_?(?:number|no|nr)"),
    ("a payment card number", r"credit_?card(?:_?(?:number|no|nr))?|card_?(?:number|no|nr)"),
    (
        "a passport or identity document",
        r"passport(?:_?(?:number|no|nr|id))?|(?:id|identity)_?card(?:_?(?:number|no|nr))?|(?:drivers?|driving)_?licen[cs]e(?:_?(?:number|no|nr))?",
    ),
    (
        "a person's name",
        r"full_?name|first_?name|last_?name|sur_?name|given_?name|family_?name|fore_?name|middle_?name|maiden_?name"
        r"|(?:customer|patient|client|employee|person|user|contact)_?name",
    ),
    ("a date of birth", r"date_?of_?birth|birth_?date|dob"),
    ("a postal address", r"(?:street|home|postal|mailing|residential)_?address|street"),
    ("an IP address", r"ip_?address"),
)
_NAME_RES = tuple((what, re.compile(rf"(?:^|_)(?:{pattern})$")) for what, pattern in NAME_RULES)

# Somewhere in the cell: local part, "@", a dotted domain ending in letters.
EMAIL_PATTERN = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
# The whole cell: country, check digits, 11 to 30 letters or digits, single spaces allowed.
IBAN_SHAPE = r"^ *[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,30} *$"

# IBAN length per country (ISO 13616 registry). A code from an unlisted country is not
# taken for an IBAN, which keeps look-alike product codes out.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


_LETTER_DIGITS = str.maketrans({chr(ord("A") + i): str(10 + i) for i in range(26)})


def normalise_name(name: str) -> str:
    """``customerEmail`` / ``E-Mail`` / ``Phone No.`` -> ``customer_email`` / ``e_mail`` / ``phone_no``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^A-Za-z0-9]+", "_", spaced).strip("_").lower()


def identifier_kind(column: str) -> str | None:
    """What a column's name says it holds, when that is a direct identifier; else None."""
    normal = normalise_name(column)
    for what, pattern in _NAME_RES:
        if pattern.search(normal):
            return what
    return None


def is_iban(text: str) -> bool:
    """True when ``text`` is an IBAN of a listed country with valid check digits."""
    return _valid_compact(re.sub(r"\s+", "", text).upper())


def _valid_compact(compact: str) -> bool:
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    # ISO 7064 mod 97-10: the first four characters go to the end, letters count 10..35.
    return int((compact[4:] + compact[:4]).translate(_LETTER_DIGITS)) % 97 == 1


def email_mask(values: pa.Array) -> pa.Array:
    """Boolean mask of cells that contain an e-mail address (nulls are False)."""
    return pc.fill_null(pc.match_substring_regex(values, EMAIL_PATTERN), False)


def iban_mask(values: pa.Array) -> pa.Array:
    """Boolean mask of cells that are an IBAN (nulls are False)."""
    shaped = pc.fill_null(pc.match_substring_regex(values, IBAN_SHAPE), False)
    if not pc.any(shaped).as_py():
        return shaped
    # Python checks only the cells of the right shape; the verdicts go back in place.
    compact = pc.utf8_upper(pc.replace_substring(pc.filter(values, shaped), " ", ""))
    verdicts = [_valid_compact(text) for text in compact.to_pylist()]
    return pc.replace_with_mask(shaped, shaped, pa.array(verdicts, pa.bool_()))


VALUE_RULES = (
    ("pii_email", "an e-mail address", email_mask),
    ("pii_iban", "an IBAN", iban_mask),
)
