"""Kazakh identifiers: IIN, BIN, KZ IBAN — validation, masking for logs, synthetic generators.

Algorithms: docs/facts.md "Identifiers". Pure functions, no I/O.
"""

from __future__ import annotations

import re
from datetime import date

_W1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_W2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)

# 7th IIN digit -> (century start, sex); facts.md: 1/2 1800s, 3/4 1900s, 5/6 2000s; odd male.
_CENTURY_SEX = {"1": (1800, "M"), "2": (1800, "F"), "3": (1900, "M"),
                "4": (1900, "F"), "5": (2000, "M"), "6": (2000, "F")}

BIN_ENTITY_TYPES = frozenset("456")  # 4 resident, 5 non-resident, 6 sole proprietor in joint business
BIN_UNIT_TYPES = frozenset("0123")  # 0 head office, 1 branch, 2 representative office, 3 peasant farm

_IBAN_KZ = re.compile(r"KZ[0-9]{2}[0-9]{3}[0-9A-Z]{13}")
_PHONE_STARS = "*******"  # fixed width, so the mask does not reveal the number's length


def check_digit(first11: str) -> int | None:
    """IIN/BIN check digit (facts.md Identifiers: mod 11, weights 1..11 then 3..11,1,2); None if 10 twice."""
    digits = [int(c) for c in first11]
    for weights in (_W1, _W2):
        rest = sum(d * w for d, w in zip(digits, weights)) % 11
        if rest != 10:
            return rest
    return None


def _twelve_digits(value: str) -> bool:
    """True for exactly 12 ASCII digits."""
    return len(value) == 12 and value.isascii() and value.isdigit()


def _check_digit_error(value: str) -> str | None:
    """Compare the 12th digit with the computed check digit (facts.md Identifiers)."""
    expected = check_digit(value[:11])
    if expected is None:
        return "no valid check digit exists for the first 11 digits"
    if expected != int(value[11]):
        return "check digit does not match"
    return None


def iin_error(value: str) -> str | None:
    """Why ``value`` is not a valid IIN (facts.md Identifiers: IIN), or None when it is. [law: B5.iin-or-bin]"""
    if not isinstance(value, str) or not _twelve_digits(value):
        return "must be 12 digits"
    if value[6] not in _CENTURY_SEX:
        return "7th digit (century and sex) must be 1-6"
    try:
        _iin_date(value)
    except ValueError:
        return "birth date in the IIN is not a real date"
    return _check_digit_error(value)


def _iin_date(value: str) -> date:
    """Birth date from digits 1-6 and the century in digit 7 (facts.md Identifiers: IIN)."""
    century, _ = _CENTURY_SEX[value[6]]
    return date(century + int(value[0:2]), int(value[2:4]), int(value[4:6]))


def bin_error(value: str) -> str | None:
    """Why ``value`` is not a valid BIN (facts.md Identifiers: BIN), or None when it is. [law: B5.iin-or-bin]"""
    if not isinstance(value, str) or not _twelve_digits(value):
        return "must be 12 digits"
    if not 1 <= int(value[2:4]) <= 12:
        return "registration month (digits 3-4) must be 01-12"
    if value[4] not in BIN_ENTITY_TYPES:
        return "5th digit (entity type) must be 4, 5 or 6"
    if value[5] not in BIN_UNIT_TYPES:
        return "6th digit (head office / branch type) must be 0-3"
    return _check_digit_error(value)


def iban_error(value: str) -> str | None:
    """Why ``value`` is not a valid KZ IBAN (facts.md Identifiers: ISO 13616 mod 97), or None."""
    if not isinstance(value, str):
        return "must be a string"
    if value != value.strip().upper() or " " in value:
        return "must be upper case without spaces (e.g. KZ86125KZT5004100100)"
    if len(value) != 20:
        return "must be 20 characters"
    if not value.startswith("KZ"):
        return "must start with KZ"
    if not _IBAN_KZ.fullmatch(value):
        return "must be KZ, 2 check digits, 3-digit bank code and 13 letters or digits"
    if _iban_mod97(value) != 1:
        return "check digits do not match"
    return None


def _iban_mod97(value: str) -> int:
    """ISO 13616: move the first 4 characters to the end, letters A=10..Z=35, remainder mod 97."""
    rearranged = value[4:] + value[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97


def is_valid_iin(value: str) -> bool:
    """True when ``value`` is a valid IIN."""
    return iin_error(value) is None


def is_valid_bin(value: str) -> bool:
    """True when ``value`` is a valid BIN."""
    return bin_error(value) is None


def is_valid_iban(value: str) -> bool:
    """True when ``value`` is a valid KZ IBAN."""
    return iban_error(value) is None


def iin_birth_date(iin: str) -> date:
    """Birth date encoded in a valid IIN (digits 1-7); ValueError for an invalid IIN."""
    error = iin_error(iin)
    if error:
        raise ValueError(f"invalid IIN: {error}")
    return _iin_date(iin)


def iin_sex(iin: str) -> str:
    """'M' or 'F' from the 7th digit of a valid IIN (odd male, even female)."""
    error = iin_error(iin)
    if error:
        raise ValueError(f"invalid IIN: {error}")
    return _CENTURY_SEX[iin[6]][1]


def _mask(value: str, head: int, tail: int) -> str:
    """Hide all but ``head`` leading and ``tail`` trailing characters; hide everything if short."""
    if len(value) < head + tail + 4:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail:]


def mask_iin(value: str) -> str:
    """IIN/BIN for logs: only the last 4 digits kept ('********2568')."""
    return _mask(value.strip(), 0, 4)


def mask_iban(value: str) -> str:
    """IBAN for logs: country code and last 4 characters kept ('KZ**************0100')."""
    return _mask(value.replace(" ", "").upper(), 2, 4)


def mask_phone(value: str) -> str:
    """Phone for logs: country prefix and last 4 digits, fixed-width stars ('+7*******4567')."""
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) < 8:
        return _PHONE_STARS
    stripped = value.strip()
    prefix = "+7" if stripped.startswith("+7") else ("+" if stripped.startswith("+") else "")
    return prefix + _PHONE_STARS + digits[-4:]


def _nth_valid(stem: str, ordinal: int, width: int) -> str:
    """Append the ``ordinal``-th serial (0-based) of ``width`` digits whose check digit exists."""
    if ordinal < 0:
        raise ValueError("serial must be >= 0")
    seen = 0
    for serial in range(10 ** width):
        first11 = f"{stem}{serial:0{width}d}"
        digit = check_digit(first11)
        if digit is None:
            continue
        if seen == ordinal:
            return f"{first11}{digit}"
        seen += 1
    raise ValueError(f"serial {ordinal} is beyond the usable serials for this prefix")


def make_iin(birth: date, sex: str, serial: int) -> str:
    """Synthetic valid IIN; ``serial`` is the ordinal of the usable serial (unusable ones skipped).

    Serials whose check digit is 10 under both weight sets are skipped, so serial n is the
    n-th usable one: distinct ``serial`` values give distinct IINs for the same date and sex.
    """
    sex = sex.upper()
    if sex not in ("M", "F"):
        raise ValueError("sex must be 'M' or 'F'")
    for digit, (century, code_sex) in _CENTURY_SEX.items():
        if code_sex == sex and century <= birth.year < century + 100:
            return _nth_valid(f"{birth:%y%m%d}{digit}", serial, 4)
    raise ValueError("birth year must be 1800-2099")


def make_bin(registered: date, serial: int, entity_type: int = 4, unit_type: int = 0) -> str:
    """Synthetic valid BIN for the registration year and month; ``serial`` as in make_iin."""
    if str(entity_type) not in BIN_ENTITY_TYPES:
        raise ValueError("entity_type must be 4, 5 or 6")
    if str(unit_type) not in BIN_UNIT_TYPES:
        raise ValueError("unit_type must be 0-3")
    return _nth_valid(f"{registered:%y%m}{entity_type}{unit_type}", serial, 5)
