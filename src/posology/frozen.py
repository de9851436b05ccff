"""Immutable records: ``@record`` makes a class with slots, a keyword-or-positional
``__init__``, equality, a hash and a repr, and refuses any later assignment.

Why not :mod:`dataclasses`: ``posology check`` is a command a clinician or a script runs once per
question, and its start is measured against a bare interpreter. Importing ``dataclasses`` imports
``inspect`` (and with it ``ast``, ``dis`` and ``tokenize``), and each frozen dataclass with slots
is built twice and compiles six functions one by one: about a millisecond a class, a third of the
command's own start. A record compiles its methods in one go, and it is only the part of
``dataclasses`` the engine uses: fields with a default or a default factory, fields worked out in
``__post_init__`` (``field(init=False)``), fields left out of equality and repr, ``eq=False`` for a
class that compares itself, and :func:`replace`. Type checkers read a record as a frozen
dataclass (:func:`typing.dataclass_transform`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")

_MISSING: Any = object()
_FIELDS = "__record_fields__"


class FrozenRecordError(AttributeError):
    """An assignment to a field of a record: records are values and never change."""


class Field:
    """How one field of a record behaves (what :func:`field` returns)."""

    __slots__ = ("compare", "default", "default_factory", "init", "repr")

    def __init__(
        self,
        default: Any,
        default_factory: Callable[[], Any] | Any,
        init: bool,
        repr: bool,
        compare: bool,
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare


def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | Any = _MISSING,
    init: bool = True,
    repr: bool = True,
    compare: bool = True,
) -> Any:
    """A field with a default, a default factory, or worked out by ``__post_init__``
    (``init=False``), optionally left out of the repr or of equality and the hash."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise TypeError("a field has a default or a default factory, not both")
    return Field(default, default_factory, init, repr, compare)


def _is_class_var(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return isinstance(text, str) and (
        text.startswith("ClassVar") or text.startswith("typing.ClassVar")
    )


def _fields_of(cls: type) -> list[tuple[str, Field]]:
    out: list[tuple[str, Field]] = []
    # the class body's own annotations (inspect.get_annotations would import inspect)
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        if _is_class_var(annotation):
            continue
        given = cls.__dict__.get(name, _MISSING)
        spec = given if isinstance(given, Field) else Field(given, _MISSING, True, True, True)
        out.append((name, spec))
    return out


def _init_source(cls: type, specs: list[tuple[str, Field]]) -> tuple[str, dict[str, Any]]:
    """The record's ``__init__`` as Python source, with the names it uses."""
    names: dict[str, Any] = {"_set": object.__setattr__, "_MISSING": _MISSING}
    params: list[str] = []
    body: list[str] = []
    for name, spec in specs:
        if not spec.init:
            continue
        if spec.default_factory is not _MISSING:
            names[f"_factory_{name}"] = spec.default_factory
            params.append(f"{name}=_MISSING")
            body.append(
                f"    _set(self, {name!r}, _factory_{name}() if {name} is _MISSING else {name})"
            )
            continue
        if spec.default is not _MISSING:
            names[f"_default_{name}"] = spec.default
            params.append(f"{name}=_default_{name}")
        else:
            params.append(name)
        body.append(f"    _set(self, {name!r}, {name})")
    for name, spec in specs:
        if not spec.init and spec.default is not _MISSING:
            names[f"_default_{name}"] = spec.default
            body.append(f"    _set(self, {name!r}, _default_{name})")
    if "__post_init__" in cls.__dict__:
        body.append("    self.__post_init__()")
    lines = [f"def __init__(self, {', '.join(params)}):", *(body or ["    pass"])]
    return "\n".join(lines) + "\n", names


def _compare_source(compared: tuple[str, ...]) -> str:
    """``__eq__`` and ``__hash__`` over the compared fields, as Python source."""
    key = "(" + "".join(f"self.{n}, " for n in compared) + ")"
    other_key = "(" + "".join(f"other.{n}, " for n in compared) + ")"
    return (
        "\n".join(
            [
                "def __eq__(self, other):",
                "    if other.__class__ is not self.__class__:",
                "        return NotImplemented",
                f"    return {key} == {other_key}",
                "def __hash__(self):",
                f"    return hash({key})",
            ]
        )
        + "\n"
    )


class _Compiled:
    """``__eq__`` or ``__hash__`` of a record, compiled the first time it is used: most records
    a command defines are never compared, and compiling is most of a record's cost at import.
    The compiled functions then replace these placeholders on the class."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type) -> Any:
        methods: dict[str, Any] = {}
        source = _compare_source(vars(owner)["__record_compared__"])
        exec(compile(source, f"<record {owner.__qualname__}>", "exec"), {}, methods)
        for key, method in methods.items():
            if isinstance(owner.__dict__.get(key), _Compiled):  # never a method of the class's own
                method.__qualname__ = f"{owner.__qualname__}.{key}"
                type.__setattr__(owner, key, method)
        found = methods[self.name]
        return found if instance is None else found.__get__(instance, owner)


class _CompiledInit:
    """A record's ``__init__``, compiled the first time a record of the class is made (or the
    method is looked up): of the records a command defines, most are never made in one run (a
    pack served from the cache is rebuilt without ``__init__``), and compiling is most of what
    defining a record costs. The compiled function then replaces this placeholder."""

    __slots__ = ("names", "source")

    def __init__(self, source: str, names: dict[str, Any]) -> None:
        self.source = source
        self.names = names

    def __get__(self, instance: object, owner: type) -> Any:
        home = next(c for c in owner.__mro__ if c.__dict__.get("__init__") is self)
        methods: dict[str, Any] = {}
        exec(compile(self.source, f"<record {home.__qualname__}>", "exec"), self.names, methods)
        init = methods["__init__"]
        init.__qualname__ = f"{home.__qualname__}.__init__"
        type.__setattr__(home, "__init__", init)
        return init if instance is None else init.__get__(instance, owner)


def _setattr(self: object, name: str, value: object) -> None:
    raise FrozenRecordError(f"cannot assign to field {name!r}: a record never changes")


def _delattr(self: object, name: str) -> None:
    raise FrozenRecordError(f"cannot delete field {name!r}: a record never changes")


def _repr(self: object) -> str:
    names = vars(type(self))["__record_shown__"]
    shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
    return f"{type(self).__qualname__}({shown})"


def _getstate(self: object) -> tuple[Any, ...]:
    return tuple(getattr(self, n) for n in vars(type(self))["__slots__"])


def _setstate(self: object, state: tuple[Any, ...]) -> None:
    names = vars(type(self))["__slots__"]
    for name, value in zip(names, state, strict=True):
        object.__setattr__(self, name, value)


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def record(cls: type[T] | None = None, /, *, eq: bool = True) -> Any:
    """Make ``cls`` an immutable record (``@record``, or ``@record(eq=False)`` for a class that
    defines its own equality and hash)."""

    def make(cls: type[T]) -> type[T]:
        for base in cls.__mro__[1:]:
            if _FIELDS in base.__dict__:
                raise TypeError(f"{cls.__name__}: a record does not extend another record")
        specs = _fields_of(cls)
        every = tuple(n for n, _ in specs)
        namespace = {
            key: value
            for key, value in cls.__dict__.items()
            if key not in ("__dict__", "__weakref__") and key not in every
        }
        shared: dict[str, Any] = {
            "__setattr__": _setattr,
            "__delattr__": _delattr,
            "__repr__": _repr,
            "__getstate__": _getstate,
            "__setstate__": _setstate,
        }
        if eq and "__eq__" not in cls.__dict__:
            shared["__eq__"] = _Compiled("__eq__")
        if eq and cls.__dict__.get("__hash__") is None:
            # a class comparing by value hashes by the same fields (``__hash__`` is None in the
            # class body when the body defines ``__eq__`` alone, as for a frozen dataclass)
            shared["__hash__"] = _Compiled("__hash__")
        for key, method in shared.items():
            if key != "__hash__" and key in cls.__dict__:
                continue  # the class's own method wins, as with a dataclass
            namespace[key] = method
        if "__init__" not in cls.__dict__:
            namespace["__init__"] = _CompiledInit(*_init_source(cls, specs))
        namespace["__slots__"] = every
        namespace[_FIELDS] = tuple(specs)
        namespace["__record_shown__"] = tuple(n for n, s in specs if s.repr)
        namespace["__record_compared__"] = tuple(n for n, s in specs if s.compare)
        namespace["__match_args__"] = tuple(n for n, s in specs if s.init)
        rebuilt: type[T] = type(cls)(cls.__name__, cls.__bases__, namespace)  # type: ignore[misc]
        return rebuilt

    return make if cls is None else make(cls)


def fields_of(cls_or_record: object) -> tuple[str, ...]:
    """The names of a record's fields, in order (those worked out in ``__post_init__`` too)."""
    cls = cls_or_record if isinstance(cls_or_record, type) else type(cls_or_record)
    return tuple(name for name, _ in getattr(cls, _FIELDS))


def is_record(value: object) -> bool:
    """True for a record class or a record."""
    cls = value if isinstance(value, type) else type(value)
    return _FIELDS in cls.__dict__


def replace(value: T, /, **changes: Any) -> T:
    """A copy of a record with some fields changed (``replace(event, at=later)``); fields
    worked out in ``__post_init__`` are worked out again, and an unknown name is a TypeError."""
    specs = getattr(type(value), _FIELDS, None)
    if specs is None:
        raise TypeError(f"replace() wants a record, not {type(value).__name__}")
    for name, spec in specs:
        if name in changes and not spec.init:
            raise TypeError(f"field {name!r} is worked out, not given: it cannot be replaced")
    given = {name: getattr(value, name) for name, spec in specs if spec.init}
    unknown = set(changes) - set(given)
    if unknown:
        raise TypeError(f"{type(value).__name__} has no field {sorted(unknown)[0]!r}")
    given.update(changes)
    return type(value)(**given)
