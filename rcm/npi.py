"""National Provider Identifier check digit (Luhn over the 80840 prefix)."""

from __future__ import annotations


def npi_check_digit(first9: str) -> int:
    """The check digit for a 9-digit NPI base, per the CMS NPI standard."""
    total = 24  # the constant contribution of the card-issuer prefix 80840
    for position, char in enumerate(reversed(first9)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def is_valid_npi(npi: str | None) -> bool:
    """True for a 10-digit NPI whose last digit is the Luhn check digit."""
    if npi is None or len(npi) != 10 or not npi.isdigit():
        return False
    return npi_check_digit(npi[:9]) == int(npi[9])
