"""facts.md "Identifiers": IIN, BIN and KZ IBAN checks, log masks, synthetic generators."""

from __future__ import annotations

from datetime import date

import pytest

from common.identifiers import (
    bin_error,
    check_digit,
    iban_error,
    iin_birth_date,
    iin_error,
    iin_sex,
    is_valid_bin,
    is_valid_iban,
    is_valid_iin,
    make_bin,
    make_iin,
    mask_iban,
    mask_iin,
    mask_phone,
)


@pytest.mark.parametrize("value", ["790303402568", "031231500126"])
def test_iin_examples_from_facts_are_valid(value: str) -> None:
    """facts.md Identifiers: the two published IIN examples pass."""
    assert iin_error(value) is None
    assert is_valid_iin(value)


@pytest.mark.law("B5.iin-or-bin")
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("79030340256", "must be 12 digits"),  # 11 digits
        ("7903034025681", "must be 12 digits"),  # 13 digits
        ("79030340256a", "must be 12 digits"),
        ("٧٩٠٣٠٣٤٠٢٥٦٨", "must be 12 digits"),  # Arabic-Indic digits are not ASCII digits
        ("790303702568", "7th digit (century and sex) must be 1-6"),
        ("790303002568", "7th digit (century and sex) must be 1-6"),
        ("790230402568", "birth date in the IIN is not a real date"),  # 30 Feb
        ("791303402568", "birth date in the IIN is not a real date"),  # month 13
        ("790303402569", "check digit does not match"),
        ("790303402567", "check digit does not match"),
    ],
)
def test_iin_errors_name_the_problem(value: str, message: str) -> None:
    """facts.md Identifiers IIN: length, 7th digit 1-6, YYMMDD real date, mod-11 check digit."""
    assert iin_error(value) == message
    assert not is_valid_iin(value)


def test_check_digit_uses_second_weights_when_first_sum_gives_10() -> None:
    """facts.md Identifiers: result 10 with weights 1..11 -> recompute with 3..11,1,2."""
    # "00000000010": 1 × 10 = 10 with weights 1..11; 1 × 1 = 1 with weights 3..11,1,2.
    assert check_digit("00000000010") == 1
    # "00000000001": 1 × 11 ≡ 0 at the first pass, the second pass is not used.
    assert check_digit("00000000001") == 0


def test_check_digit_10_twice_means_no_valid_number() -> None:
    """facts.md Identifiers: if the second sum is 10 as well the number is invalid."""
    stem = next(
        f"{n:011d}" for n in range(100_000)
        if sum(int(c) * w for c, w in zip(f"{n:011d}", range(1, 12))) % 11 == 10
        and sum(int(c) * w for c, w in zip(f"{n:011d}", (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2))) % 11 == 10
    )
    assert check_digit(stem) is None


def test_iin_birth_date_and_sex_decode_century() -> None:
    """facts.md Identifiers IIN: 7th digit 3/4 = 1900s, 5/6 = 2000s; odd male, even female."""
    assert iin_birth_date("790303402568") == date(1979, 3, 3)
    assert iin_sex("790303402568") == "F"
    assert iin_birth_date("031231500126") == date(2003, 12, 31)
    assert iin_sex("031231500126") == "M"


def test_iin_birth_date_rejects_invalid_iin() -> None:
    """iin_birth_date refuses an IIN that fails the check (no silent decoding)."""
    with pytest.raises(ValueError, match="check digit"):
        iin_birth_date("790303402569")


@pytest.mark.parametrize("value", ["940140000385", "990140004654"])
def test_bin_examples_from_facts_are_valid(value: str) -> None:
    """facts.md Identifiers: the two published BIN examples pass."""
    assert bin_error(value) is None
    assert is_valid_bin(value)


@pytest.mark.law("B5.iin-or-bin")
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("94014000038", "must be 12 digits"),
        ("94014000038X", "must be 12 digits"),
        ("941340000385", "registration month (digits 3-4) must be 01-12"),
        ("940040000385", "registration month (digits 3-4) must be 01-12"),
        ("940130000385", "5th digit (entity type) must be 4, 5 or 6"),
        ("940170000385", "5th digit (entity type) must be 4, 5 or 6"),
        ("940144000385", "6th digit (head office / branch type) must be 0-3"),
        ("940140000386", "check digit does not match"),
    ],
)
def test_bin_errors_name_the_problem(value: str, message: str) -> None:
    """facts.md Identifiers BIN: YYMM, 5th digit 4/5/6, 6th digit 0-3, same check digit as IIN."""
    assert bin_error(value) == message
    assert not is_valid_bin(value)


def test_iin_and_bin_are_disjoint() -> None:
    """A valid IIN has a day (digits 5-6) <= 31, so digit 5 is never a BIN entity type 4-6."""
    assert not is_valid_bin("790303402568")
    assert not is_valid_iin("940140000385")


def test_iban_example_from_facts_is_valid() -> None:
    """facts.md Identifiers IBAN: KZ86125KZT5004100100 passes ISO 13616 mod 97."""
    assert iban_error("KZ86125KZT5004100100") is None
    assert is_valid_iban("KZ86125KZT5004100100")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("kz86125kzt5004100100", "upper case without spaces"),
        ("KZ86 125K ZT50 0410 0100", "upper case without spaces"),
        (" KZ86125KZT5004100100", "upper case without spaces"),
        ("KZ86125KZT500410010", "must be 20 characters"),
        ("KZ86125KZT50041001000", "must be 20 characters"),
        ("DE86125KZT5004100100", "must start with KZ"),
        ("KZ8A125KZT5004100100", "3-digit bank code"),
        ("KZ8612AKZT5004100100", "3-digit bank code"),
        ("KZ86125KZT50041001-0", "3-digit bank code and 13 letters or digits"),
        ("KZ87125KZT5004100100", "check digits do not match"),
        ("KZ86125KZT5004100101", "check digits do not match"),
    ],
)
def test_iban_errors_name_the_problem(value: str, fragment: str) -> None:
    """facts.md Identifiers IBAN: 20 chars, KZ + 2 check digits + 3-digit bank + 13 alnum, mod 97 = 1."""
    error = iban_error(value)
    assert error is not None and fragment in error
    assert not is_valid_iban(value)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("790303402568", "********2568"),
        (" 790303402568 ", "********2568"),
        ("940140000385", "********0385"),
        ("1234567", "*******"),  # too short to reveal anything
    ],
)
def test_mask_iin_keeps_only_last_four(value: str, masked: str) -> None:
    """Logs never carry personal data unmasked: IIN/BIN keep the last 4 digits only."""
    assert mask_iin(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+77011234567", "+7*******4567"),
        ("+7 (701) 123-45-67", "+7*******4567"),
        ("+996555123456", "+*******3456"),  # another country: only '+' kept, code length unknown
        ("87011234567", "*******4567"),
        ("12345", "*******"),
    ],
)
def test_mask_phone_keeps_prefix_and_last_four(value: str, masked: str) -> None:
    """Logs: phone keeps the +7 prefix and last 4 digits; fixed-width stars hide the length."""
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("KZ86125KZT5004100100", "KZ**************0100"),
        ("kz86 125k zt50 0410 0100", "KZ**************0100"),
        ("KZ86", "****"),
    ],
)
def test_mask_iban_keeps_country_and_last_four(value: str, masked: str) -> None:
    """Logs: IBAN keeps the country code and the last 4 characters."""
    assert mask_iban(value) == masked


@pytest.mark.parametrize(
    ("birth", "sex", "century_digit"),
    [
        (date(1899, 12, 31), "M", "1"),
        (date(1850, 1, 1), "F", "2"),
        (date(1979, 3, 3), "M", "3"),
        (date(1979, 3, 3), "F", "4"),
        (date(2003, 12, 31), "M", "5"),
        (date(2024, 2, 29), "f", "6"),
    ],
)
def test_make_iin_generates_valid_iins(birth: date, sex: str, century_digit: str) -> None:
    """Generator: YYMMDD + century/sex digit per facts.md, and every result passes iin_error."""
    for serial in range(30):
        iin = make_iin(birth, sex, serial)
        assert iin_error(iin) is None, iin
        assert iin[:6] == birth.strftime("%y%m%d")
        assert iin[6] == century_digit
        assert iin_birth_date(iin) == birth


def test_make_iin_skips_unusable_serials_and_stays_distinct() -> None:
    """Generator: serials whose check digit is 10 twice are skipped; distinct serials -> distinct IINs."""
    birth = date(1985, 6, 15)
    iins = [make_iin(birth, "M", n) for n in range(300)]
    assert len(set(iins)) == 300
    used = [int(i[7:11]) for i in iins]
    usable = [n for n in range(used[-1] + 1) if check_digit(f"8506153{n:04d}") is not None]
    assert used == usable
    assert len(usable) < used[-1] + 1, "this stem must contain a skipped serial for the test to mean something"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"birth": date(1979, 3, 3), "sex": "X", "serial": 0}, "sex"),
        ({"birth": date(2100, 1, 1), "sex": "M", "serial": 0}, "1800-2099"),
        ({"birth": date(1979, 3, 3), "sex": "M", "serial": -1}, "serial"),
        ({"birth": date(1979, 3, 3), "sex": "M", "serial": 10_000}, "serial"),
    ],
)
def test_make_iin_rejects_bad_input(kwargs: dict, message: str) -> None:
    """Generator refuses what no IIN can encode."""
    with pytest.raises(ValueError, match=message):
        make_iin(**kwargs)


@pytest.mark.parametrize(("entity_type", "unit_type"), [(4, 0), (5, 1), (6, 3)])
def test_make_bin_generates_valid_bins(entity_type: int, unit_type: int) -> None:
    """Generator: YYMM + entity type + unit type per facts.md, and every result passes bin_error."""
    for serial in range(30):
        value = make_bin(date(2021, 11, 1), serial, entity_type, unit_type)
        assert bin_error(value) is None, value
        assert value[:6] == f"2111{entity_type}{unit_type}"


def test_make_bin_rejects_unknown_types() -> None:
    """Generator: entity type must be 4/5/6 and unit type 0-3 (facts.md BIN)."""
    with pytest.raises(ValueError, match="entity_type"):
        make_bin(date(2021, 11, 1), 0, entity_type=7)
    with pytest.raises(ValueError, match="unit_type"):
        make_bin(date(2021, 11, 1), 0, unit_type=4)
