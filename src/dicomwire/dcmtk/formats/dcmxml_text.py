"""The text of an element value in dcm2xml's DCMTK format.

:func:`value_text` gives an element's value multiplicity and the bytes that
go between its tags: strings trimmed per VR as DCMTK trims them, numbers
formatted as DCMTK formats them (FL/FD with its own 4.3BSD-style ``%g``,
9 and 17 digits; OF/OD with C's ``%.8g``/``%.17g``), AT as ``(gggg,eeee)``,
and nothing for OB/OW/UN (``binary="hidden"``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from dicomwire.dcmtk.formats.dcmxml_model import Value

__all__ = ["HIDDEN", "value_text"]


def _strip_components(data: bytes, leading: bool) -> bytes:
    parts = data.split(b"\\")
    return b"\\".join(p.strip(b" ") if leading else p.rstrip(b" ") for p in parts)


_STRING_TRIM: Final[Mapping[str, Callable[[bytes], bytes]]] = MappingProxyType(
    {
        **dict.fromkeys(("AE", "CS", "SH", "LO", "IS"), lambda d: _strip_components(d, True)),
        **dict.fromkeys(("DA", "DT", "TM", "PN", "UC"), lambda d: _strip_components(d, False)),
        **dict.fromkeys(("ST", "LT", "UT", "UR", "AS", "DS"), lambda d: d.rstrip(b" ")),
        "UI": lambda d: d.replace(b" ", b"").rstrip(b"\0"),
    }
)
_SINGLE_VALUED: Final = frozenset(("ST", "LT", "UT", "UR"))


def _bsd_digits(value: float, precision: int) -> str:
    """``%g`` as DCMTK's own formatter prints it (a 4.3BSD vfprintf ``cvt``).

    Digits come from repeated ``modf``, so they drift from the exact decimal
    expansion (1e300 prints as 1.0000000000000007e+300), and, unlike C, zeros
    right after the decimal point are not counted as significant even when
    there is an integer part (43.022 at precision 17 -> 43.0219999999999985).
    """
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    sign = "-" if value < 0 else ""
    fraction, integer = math.modf(abs(value))
    int_digits: list[int] = []
    while integer:
        rest, integer = math.modf(integer / 10)
        int_digits.append(int((rest + 0.01) * 10))
    int_digits.reverse()
    precision = precision or 1
    exponent = len(int_digits)
    if exponent > precision or (not exponent and fraction and fraction < 0.0001):
        return sign + _bsd_exponential(int_digits, fraction, precision - 1)
    return sign + _bsd_fixed(int_digits, fraction, precision)


def _next_digit(fraction: float) -> tuple[float, int]:
    rest, digit = math.modf(fraction * 10)
    return rest, int(digit)


def _round_up(digits: list[int]) -> bool:
    """Add one at the last digit; True if it carried out of the first."""
    for i in range(len(digits) - 1, -1, -1):
        if digits[i] < 9:
            digits[i] += 1
            return False
        digits[i] = 0
    return True


def _bsd_fixed(int_digits: list[int], fraction: float, precision: int) -> str:
    head = int_digits or [0]
    precision -= len(int_digits)
    tail: list[int] = []
    if fraction and precision:
        while True:  # leading zeros of the fraction are free
            fraction, digit = _next_digit(fraction)
            tail.append(digit)
            if digit:
                break
        while True:
            precision -= 1
            if not (precision and fraction):
                break
            fraction, digit = _next_digit(fraction)
            tail.append(digit)
    if fraction and _next_digit(fraction)[1] > 4:
        digits = head + tail
        if _round_up(digits):
            digits.insert(0, 1)
        head, tail = digits[: len(digits) - len(tail)], digits[len(digits) - len(tail) :]
    while tail and tail[-1] == 0:
        tail.pop()
    text = "".join(map(str, head))
    return f"{text}.{''.join(map(str, tail))}" if tail else text


def _bsd_exponential(int_digits: list[int], fraction: float, precision: int) -> str:
    digits: list[int] = []
    if int_digits:
        exponent = len(int_digits) - 1
        digits.append(int_digits[0])
        rest = int_digits[1:]
        digits.extend(rest[:precision])
        precision -= len(rest[:precision])
        if not precision and len(rest) > len(digits) - 1:
            fraction = 0.0
            if rest[len(digits) - 1] > 4 and _round_up(digits):
                digits[0] = 1
                exponent += 1
    elif fraction:
        exponent = -1
        while True:
            fraction, digit = _next_digit(fraction)
            if digit:
                break
            exponent -= 1
        digits.append(digit)
    else:
        exponent, digits = 0, [0]
    if fraction:
        while precision and fraction:
            fraction, digit = _next_digit(fraction)
            digits.append(digit)
            precision -= 1
        if fraction and _next_digit(fraction)[1] > 4 and _round_up(digits):
            digits[0] = 1
            exponent += 1
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _c_g(value: float, precision: int) -> str:
    if math.isnan(value):
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    return f"{value:.{precision}g}"


@dataclass(frozen=True)
class _Numeric:
    fmt: str
    size: int
    text: Callable[[float], str]
    single: bool = False  # O* VRs: one value of many numbers (vm 1)


def _int_text(value: float) -> str:
    return str(int(value))


_NUMERIC: Final[Mapping[str, _Numeric]] = MappingProxyType(
    {
        "US": _Numeric("H", 2, _int_text),
        "SS": _Numeric("h", 2, _int_text),
        "UL": _Numeric("L", 4, _int_text),
        "SL": _Numeric("l", 4, _int_text),
        "UV": _Numeric("Q", 8, _int_text),
        "SV": _Numeric("q", 8, _int_text),
        "FL": _Numeric("f", 4, lambda v: _bsd_digits(v, 9)),
        "FD": _Numeric("d", 8, lambda v: _bsd_digits(v, 17)),
        "OL": _Numeric("L", 4, _int_text, True),
        "OV": _Numeric("Q", 8, _int_text, True),
        "OF": _Numeric("f", 4, lambda v: _c_g(v, 8), True),
        "OD": _Numeric("d", 8, lambda v: _c_g(v, 17), True),
    }
)
HIDDEN: Final = frozenset(("OB", "OW", "UN"))


def _numbers(node: Value, spec: _Numeric) -> list[str]:
    count = len(node.data) // spec.size
    order = "<" if node.little else ">"
    values = struct.unpack_from(f"{order}{count}{spec.fmt}", node.data)
    return [spec.text(v) for v in values]


def _tag_texts(node: Value) -> list[str]:
    count = len(node.data) // 4
    order = "<" if node.little else ">"
    words = struct.unpack_from(f"{order}{2 * count}H", node.data)
    return [f"({words[i]:04x},{words[i + 1]:04x})" for i in range(0, len(words), 2)]


def _rstrip(data: bytes) -> bytes:
    return data.rstrip(b" ")


def value_text(node: Value) -> tuple[int, bytes | None]:
    """(vm, value bytes to escape); None for hidden binary data."""
    if node.vr in HIDDEN:
        return 1, None
    spec = _NUMERIC.get(node.vr)
    if spec is not None or node.vr == "AT":
        texts = _numbers(node, spec) if spec is not None else _tag_texts(node)
        vm = 1 if spec is not None and spec.single else len(texts)
        return vm, "\\".join(texts).encode("ascii")
    trim = _STRING_TRIM.get(node.vr, _rstrip)
    text = trim(node.data.rstrip(b" ") if node.vr != "UI" else node.data)
    if not text:
        return 0, b""
    return (1 if node.vr in _SINGLE_VALUED else text.count(b"\\") + 1), text
