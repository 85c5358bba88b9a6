"""Layouts by field name: packers and pickers generated once, at import, from ``_layout.LAYOUT``.

``struct`` is what makes the hot paths fast, and ``struct`` takes and gives values by position. So
that no call site re-lists a layout by position (and no assert has to pin an order), the functions
here are generated from the declared field names: a packer's parameters are the field names, to
be called with keywords; a picker gives the fields its caller names, in the order the caller
names them. Reordering the declarations then changes the generated code, never the meaning of a
call. Import stays cheap (the CLI's start-up counts): a picker in disk order is ``struct``'s own
``unpack_from`` and a packer is a closure, nothing compiled; only the hottest encoder
(``generated``) and a picker that reorders are compiled, once, from a template built from the names.

A struct is made of *runs*: fixed-size fields back to back, a run ending after a length prefix or
a repeated item, where bytes of varying size follow (``checkpoint_payload`` has two: version and
id length, then timestamp and shard count). A length-prefixed field stands for its prefix (a
packer's parameter ``<field>_length``), a repeated one for one item (``<field>_item``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import cache

from ._layout import LAYOUT

_VARIABLE_AFTER = {"length_prefix", "repeated"}  # kinds after whose fixed part a run ends


class Field:
    """One declared field: ``name``, ``fmt`` (struct format of its fixed part), ``kind`` (fixed |
    length_prefix | repeated). A plain class: a NamedTuple costs a compile at import."""

    __slots__ = ("name", "fmt", "kind")

    def __init__(self, name: str, fmt: str, kind: str):
        self.name, self.fmt, self.kind = name, fmt, kind

    def __repr__(self) -> str:
        return f"Field({self.name!r}, {self.fmt!r}, {self.kind!r})"


@cache  # a dozen structs, asked for again by every packer and picker at import
def runs(struct_name: str) -> list[list[Field]]:
    """The fixed-size runs of the declared struct ``struct_name``, in disk order (do not modify)."""
    out: list[list[Field]] = [[]]
    for field in LAYOUT[struct_name]:
        out[-1].append(Field(*field))
        if field[2] in _VARIABLE_AFTER:
            out.append([])
    return [run for run in out if run]


def _run_of(struct_name: str, fields: tuple[str, ...]) -> list[Field]:
    """The one run holding every field of ``fields``; ValueError (at import) when there is none."""
    for run in runs(struct_name):
        names = {f.name for f in run}
        if fields[0] in names:
            missing = [f for f in fields if f not in names]
            if missing:
                raise ValueError(f"{struct_name}: {missing} are not in the run of {fields[0]!r}")
            return run
    raise ValueError(f"{struct_name}: no field {fields[0]!r}")


def param_name(field: Field) -> str:
    """A packer's parameter for ``field``: its name, or what of it the fixed part holds."""
    if field.kind == "length_prefix":
        return f"{field.name}_length"
    if field.kind == "repeated":
        return f"{field.name}_item"
    return field.name


def _compiled(source: str, name: str, **namespace) -> Callable:
    exec(compile(source, f"<spec.fields {name}>", "exec"), namespace)  # noqa: S102 - our own template
    return namespace[name]


def _consecutive(struct_name: str, fields: tuple[str, ...]) -> list[Field]:
    """The fields named (default: the whole struct, which must then be one run), in disk order; they
    must follow each other on disk (packed bytes are contiguous): ValueError at import otherwise."""
    if not fields:
        if len(runs(struct_name)) != 1:
            raise ValueError(f"{struct_name}: more than one run; name the fields to pack")
        return runs(struct_name)[0]
    run = _run_of(struct_name, fields)
    names = [f.name for f in run]
    at = min(names.index(f) for f in fields)
    chosen = run[at:at + len(fields)]
    if {f.name for f in chosen} != set(fields):
        raise ValueError(f"{struct_name}: {fields} do not follow each other on disk")
    return chosen


def _struct(chosen: list[Field]) -> struct.Struct:
    return struct.Struct("<" + "".join(f.fmt for f in chosen))


def packer(struct_name: str, *fields: str) -> Callable[..., bytes]:
    """``pack_<struct>(*, <field>=...)``: the bytes of the named ``fields`` (default: the whole
    struct), given by keyword, named here in any order (see ``_consecutive``)."""
    chosen = _consecutive(struct_name, fields)
    names = tuple(map(param_name, chosen))
    expected = frozenset(names)
    packed = _struct(chosen)
    pack_values = packed.pack

    def pack(**values) -> bytes:
        if values.keys() != expected:
            raise TypeError(f"pack {struct_name}: give exactly {', '.join(names)}, by keyword")
        return pack_values(*map(values.__getitem__, names))

    pack.__name__ = pack.__qualname__ = f"pack_{struct_name}"
    pack.__doc__ = f"The bytes of {struct_name}'s {', '.join(names)} (by keyword), in disk order."
    pack.size = packed.size  # type: ignore[attr-defined]
    return pack


def generated(template: str, packs: dict[str, tuple[str, ...]], module: str, **namespace) -> Callable:
    """The one function ``template`` defines, compiled once, each ``{key}`` of ``packs`` in it written
    as a ``struct`` pack call of ``packs[key]`` (struct name, then the fields; none: all of it) whose
    arguments are the fields' names (``param_name``) in disk order. The template binds each of those
    names (a local, or a value given in ``namespace``), never an order.

    For the hottest encoder, where a packer's keyword call (~0.3 us, twice per frame) would show
    in the single append's own cost; everywhere else a ``packer`` reads better."""
    for key, (struct_name, *fields) in packs.items():
        chosen = _consecutive(struct_name, tuple(fields))
        namespace[f"_pack_{key}"] = _struct(chosen).pack
        template = template.replace("{" + key + "}", f"_pack_{key}({', '.join(map(param_name, chosen))})")
    name = template.split("def ", 1)[1].split("(", 1)[0]
    function = _compiled(template.strip() + "\n", name, **namespace)
    function.__module__ = module
    return function


class Picker:
    """Reads named fields of a struct: ``unpack_from(buf, offset=0)`` gives their values in the order
    of ``fields``, ``offset`` being where their run starts; ``size`` bytes from there are needed."""

    __slots__ = ("fields", "size", "unpack_from")

    def __init__(self, fields: tuple[str, ...], size: int, unpack_from: Callable[..., tuple]):
        self.fields, self.size, self.unpack_from = fields, size, unpack_from

    def __repr__(self) -> str:
        return f"Picker({self.fields!r}, size={self.size})"


def picker(struct_name: str, *fields: str) -> Picker:
    """The ``Picker`` of ``fields`` (one run of ``struct_name``; the fields between them are skipped
    as pad bytes, not unpacked). Named in disk order, ``unpack_from`` is ``struct``'s own; named in
    another order, a generated function reorders (one Python call more)."""
    run = _run_of(struct_name, fields)
    last = max(i for i, f in enumerate(run) if f.name in fields)
    fmt = "".join(f.fmt if f.name in fields else f"{struct.calcsize('<' + f.fmt)}x" for f in run[:last + 1])
    unpack = struct.Struct("<" + fmt).unpack_from
    on_disk = tuple(f.name for f in run[:last + 1] if f.name in fields)
    if on_disk != fields:
        fn = f"pick_{struct_name}"
        unpack = _compiled(f"def {fn}(_buf, _offset=0):\n    {', '.join(on_disk)}, = _unpack(_buf, _offset)\n"
                           f"    return {', '.join(fields)},\n", fn, _unpack=unpack)
    return Picker(fields, struct.calcsize("<" + fmt), unpack)
