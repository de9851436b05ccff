"""Records (``posology.frozen``): values that compare, hash, print, pickle and copy as the frozen
dataclasses they replace did, and never change."""

from __future__ import annotations

import copy
import pickle
from typing import ClassVar

import pytest

from posology.frozen import FrozenRecordError, field, fields_of, is_record, record, replace


@record
class Dose:
    kind: ClassVar[str] = "dose"
    amount: int
    unit: str = "mg"
    note: str = field(default="", compare=False, repr=False)
    doubled: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "doubled", self.amount * 2)


@record
class ByAmount:
    amount: int
    label: str = ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ByAmount) and other.amount == self.amount


def test_a_record_compares_and_hashes_by_its_compared_fields() -> None:
    assert Dose(5) == Dose(5, "mg", note="other note")
    assert Dose(5) != Dose(5, "ug") and Dose(5) != Dose(6)
    assert hash(Dose(5)) == hash(Dose(5, note="x"))
    assert len({Dose(5), Dose(5), Dose(6)}) == 2
    assert (Dose(5) == "5 mg") is False


def test_a_class_of_its_own_equality_keeps_it_and_is_hashed_by_its_fields() -> None:
    assert ByAmount(5, "a") == ByAmount(5, "b")  # the class's own __eq__, not the fields'
    assert ByAmount(5) in {ByAmount(5)}


def test_a_record_prints_its_shown_fields_and_works_out_its_derived_ones() -> None:
    dose = Dose(5, note="n")
    assert repr(dose) == "Dose(amount=5, unit='mg')"
    assert dose.doubled == 10 and Dose.kind == "dose"
    assert fields_of(Dose) == ("amount", "unit", "note", "doubled") and is_record(dose)


def test_a_record_never_changes() -> None:
    dose = Dose(5)
    with pytest.raises(FrozenRecordError):
        dose.amount = 6  # type: ignore[misc]
    with pytest.raises(FrozenRecordError):
        del dose.unit
    with pytest.raises(AttributeError):
        dose.other = 1  # type: ignore[attr-defined]
    assert dose.amount == 5


def test_replace_works_out_derived_fields_again_and_refuses_unknown_ones() -> None:
    later = replace(Dose(5), amount=7)
    assert later == Dose(7) and later.doubled == 14
    with pytest.raises(TypeError, match="no field 'dose'"):
        replace(Dose(5), dose=1)
    with pytest.raises(TypeError, match="worked out"):
        replace(Dose(5), doubled=1)


def test_a_record_survives_pickle_and_deepcopy_unchanged() -> None:
    dose = Dose(5, "ug", note="kept")
    for again in (pickle.loads(pickle.dumps(dose)), copy.deepcopy(dose), copy.copy(dose)):
        assert again == dose and again.note == "kept" and again.doubled == 10


def test_a_record_does_not_extend_another() -> None:
    with pytest.raises(TypeError, match="does not extend"):

        @record
        class Bigger(Dose):  # type: ignore[misc]
            more: int = 0


def test_a_record_is_made_right_whether_its_init_was_compiled_or_not() -> None:
    """``__init__`` is compiled when the first record of a class is made; a subclass made
    first, or a look-up of the method, compiles it just the same, and the second record of a
    class is made by the compiled function itself."""

    @record
    class Refill:
        volume: int
        note: str = "none"
        made: list[int] = field(default_factory=list)

    class Kept(Refill):
        pass

    assert "__init__" in vars(Refill) and not callable(vars(Refill)["__init__"])
    first = Kept(20)  # a subclass's record compiles the record's own __init__
    assert callable(vars(Refill)["__init__"])
    assert (first.volume, first.note, first.made) == (20, "none", [])
    second = Refill(40, note="after", made=[1])
    assert (second.volume, second.note, second.made) == (40, "after", [1])
    assert Refill(20).made is not Refill(20).made  # a fresh default each time
    with pytest.raises(TypeError):
        Refill()  # type: ignore[call-arg]

    @record
    class Looked:
        at: int

    assert Looked.__init__.__qualname__.endswith("Looked.__init__")
    assert Looked(3).at == 3
