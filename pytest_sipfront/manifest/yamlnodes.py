"""Line-aware YAML: plain Python values plus the line and column of every node and key.

PyYAML's ``safe_load`` forgets where a value came from and silently keeps the last of two equal
keys. This module composes the node tree with PyYAML's safe loader (libyaml's when PyYAML has
it, the pure-Python one for anything libyaml refuses, so errors read the same) and builds the
values itself, so that every problem can point at a line and column, and so that a manifest
cannot say two things at once.

What it accepts, beyond plain YAML values: anchors and aliases, and ``<<`` merge keys (the
mapping's own keys win over merged ones). What it refuses, with a :class:`YamlProblem`:
syntax errors, duplicate keys, keys that are not plain scalars, tags other than YAML's
standard scalar and collection tags, recursive aliases, documents nested or expanded beyond
sane limits, more than one document, and plain numbers that YAML 1.1 reads differently from
how they are written (``0112`` is the octal number 74, ``1:30`` is 90, ``NO`` is false):
those must be quoted, because a manifest that dials ``0112`` must not send ``74``.
Timestamps stay the strings they were written as.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

PathItem = str | int
Path = tuple[PathItem, ...]
Position = tuple[int, int]

MAX_DEPTH = 40
MAX_NODES = 50_000

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(
    _TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")
)


class YamlProblem(Exception):
    """Something YAML-level is wrong; ``path`` is where in the document, when known."""

    def __init__(self, line: int, column: int, message: str, path: Path | None = None) -> None:
        super().__init__(line, column, message, path)
        self.line = line
        self.column = column
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


@dataclass
class Positions:
    """1-based (line, column) of values and of mapping keys, by path from the root."""

    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def value(self, path: Path) -> Position:
        """Where the value at ``path`` starts (or its nearest known ancestor)."""
        while path and path not in self.values:
            path = path[:-1]
        return self.values.get(path, (1, 1))

    def key(self, path: Path) -> Position:
        """Where the key naming ``path`` starts (or the value's position, for list items)."""
        return self.keys.get(path) or self.value(path)


@dataclass(frozen=True)
class Document:
    data: Any
    positions: Positions


def _position(mark: Any) -> Position:
    if mark is None:
        return (1, 1)
    return (int(mark.line) + 1, int(mark.column) + 1)


def _text_position(text: str, index: int) -> Position:
    """Line and column of a character index, counting line breaks the way PyYAML does."""
    line, column = 1, 1
    for i, ch in enumerate(text[:index]):
        if ch in "\n\x85\u2028\u2029" or (ch == "\r" and text[i + 1 : i + 2] != "\n"):
            line, column = line + 1, 1
        else:
            column += 1
    return (line, column)


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _syntax_sentence(error: yaml.MarkedYAMLError) -> str:
    """A plain sentence for PyYAML's scanner, parser and composer complaints."""
    problem = str(error.problem or error.context or "")
    context = str(error.context or "")
    if "cannot start any token" in problem:
        if "'\\t'" in problem:
            return "a tab is used for indentation or spacing here; YAML allows only spaces"
        char = problem.split("found character ", 1)[-1].split(" that", 1)[0]
        return f"the character {char} cannot start a value here; put the value in quotes"
    if problem == "mapping values are not allowed here":
        return (
            "a ':' is not allowed here; check the indentation, "
            "or put a value that contains ': ' in quotes"
        )
    if problem == "could not find expected ':'":
        return "expected 'key: value' here; a ':' is missing or the indentation is off"
    if problem in ("block sequence entries are not allowed here", "did not find expected key"):
        return "this line does not fit the structure above; check its indentation"
    if problem.startswith("expected <block end>"):
        return "this line does not line up with the lines above; check its indentation"
    if problem == "found unexpected end of stream" and "quoted" in context:
        return "this quoted string is never closed; add the closing quote"
    if problem.startswith("found unknown escape character"):
        return (
            "a double-quoted string holds an unknown escape such as \\d; "
            "use single quotes, or write \\\\ for a backslash"
        )
    if problem.startswith("found undefined alias"):
        alias = problem.split("found undefined alias ", 1)[-1]
        return f"the alias *{alias.strip(chr(39))} refers to no anchor defined above it"
    if "found duplicate anchor" in str(error.context or ""):
        return "the same anchor name is defined twice; give each anchor its own name"
    if problem == "expected a single document in the stream" or context == (
        "expected a single document in the stream"
    ):
        return "the file holds more than one YAML document ('---'); a manifest is one document"
    if problem.startswith("expected ',' or ']'"):
        return "a [ ... ] list is not closed properly here; expected ',' or ']'"
    if problem.startswith("expected ',' or '}'"):
        return "a { ... } mapping is not closed properly here; expected ',' or '}'"
    if problem.startswith("expected the node content") or problem.startswith(
        "did not find expected node content"
    ):
        return "a value is missing or malformed here"
    if problem.startswith("expected '<document start>'"):
        return "unexpected content after the end of the document; check the indentation"
    detail = " ".join(problem.split()) or "the text cannot be parsed"
    return f"this is not valid YAML ({_short(detail, 80)}); check the quoting and indentation"


def _error_mark(error: yaml.MarkedYAMLError) -> Any:
    """Where to point: the problem, except for a quote that is never closed (its start)."""
    if error.problem == "found unexpected end of stream" and error.context_mark is not None:
        return error.context_mark
    return error.problem_mark or error.context_mark


_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)
"""libyaml's loader, when PyYAML was built with it: the same node tree, about 5x faster."""


def _compose(text: str) -> Node | None:
    # Valid documents take libyaml's path. Anything it refuses, and any character the pure
    # reader refuses, goes through the pure-Python loader, whose messages are the ones
    # translated here, so every error reads exactly as before.
    if _FAST_LOADER is not None and not yaml.reader.Reader.NON_PRINTABLE.search(text):
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except (yaml.YAMLError, RecursionError):
            pass
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as error:
        line, column = _text_position(text, int(error.position))
        char = error.character
        code = ord(char) if isinstance(char, str) else int(char)
        raise YamlProblem(
            line,
            column,
            f"the file holds the character U+{code:04X}, which YAML does not allow; remove it",
        ) from None
    except yaml.MarkedYAMLError as error:
        line, column = _position(_error_mark(error))
        raise YamlProblem(line, column, _syntax_sentence(error)) from None
    except yaml.YAMLError as error:  # pragma: no cover - every PyYAML error above is marked
        raise YamlProblem(1, 1, f"this is not valid YAML ({_short(str(error), 80)})") from None
    except RecursionError:
        raise YamlProblem(
            1, 1, f"the YAML is nested too deeply; a manifest needs at most {MAX_DEPTH} levels"
        ) from None


def _describe_number_gotcha(node: ScalarNode, value: Any) -> str | None:
    """Why a plain scalar means something else than it shows, or None."""
    text = node.value
    if isinstance(value, bool):
        if text.lower() in ("true", "false"):
            return None
        return (
            f"{text} is read by YAML as {str(value).lower()}; put it in quotes ('{text}') "
            "to keep it as text, or write true or false"
        )
    if isinstance(value, int):
        if text.lstrip("+") == str(value):
            return None
        return (
            f"{text} is read by YAML as the number {value}; put it in quotes ('{text}') "
            "to keep it as written"
        )
    if isinstance(value, float) and (":" in text or "_" in text):
        return (
            f"{text} is read by YAML as the number {value}; put it in quotes ('{text}') "
            "to keep it as written"
        )
    return None


class _Builder:
    def __init__(self) -> None:
        self.positions = Positions()
        self.count = 0
        self.seen: set[int] = set()
        self.constructor = SafeConstructor()

    def problem(self, node: Node, message: str, path: Path) -> YamlProblem:
        line, column = _position(node.start_mark)
        return YamlProblem(line, column, message, path)

    def build(self, node: Node, path: Path, depth: int, active: frozenset[int]) -> Any:
        # Only values built a second time (through an alias) count: a large file without
        # aliases is bounded by the manifest size limit, not by this one.
        if id(node) in self.seen:
            self.count += 1
        else:
            self.seen.add(id(node))
        if self.count > MAX_NODES:
            line, column = _position(node.start_mark)
            raise YamlProblem(
                line,
                column,
                f"the document expands to more than {MAX_NODES} values "
                "(aliases used too often); write the values out",
            )
        if depth > MAX_DEPTH:
            line, column = _position(node.start_mark)
            raise YamlProblem(
                line,
                column,
                f"the YAML is nested too deeply; a manifest needs at most {MAX_DEPTH} levels",
            )
        self.positions.values[path] = _position(node.start_mark)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if id(node) in active:
            raise self.problem(
                node, "an alias refers to a value that contains it; a manifest cannot loop", path
            )
        inner = active | {id(node)}
        if isinstance(node, SequenceNode):
            if node.tag != _TAG + "seq":
                raise self.problem(node, self.tag_sentence(node.tag), path)
            return [
                self.build(child, (*path, index), depth + 1, inner)
                for index, child in enumerate(node.value)
            ]
        if isinstance(node, MappingNode):
            if node.tag != _TAG + "map":
                raise self.problem(node, self.tag_sentence(node.tag), path)
            return self.mapping(node, path, depth, inner)
        raise self.problem(node, "this YAML node cannot be read", path)  # pragma: no cover

    @staticmethod
    def tag_sentence(tag: str) -> str:
        shown = "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
        return f"the YAML tag {shown} is not supported in a manifest; write a plain value"

    def scalar(self, node: ScalarNode, path: Path) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise self.problem(node, self.tag_sentence(node.tag), path)
        if node.tag == _TAG + "timestamp" or node.tag == _TAG + "str":
            return str(node.value)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError):
            raise self.problem(
                node, f"{_short(node.value)!r} cannot be read as !!{node.tag[len(_TAG) :]}", path
            ) from None
        if not node.style:  # plain: None from PyYAML's composer, "" from libyaml's
            gotcha = _describe_number_gotcha(node, value)
            if gotcha:
                raise self.problem(node, gotcha, path)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.problem(
                node, f"{node.value} is not a usable number; write a finite number", path
            )
        return value

    def mapping(self, node: MappingNode, path: Path, depth: int, active: frozenset[int]) -> Any:
        explicit: dict[str, Node] = {}
        for key_node, _value in node.value:
            if key_node.tag == _TAG + "merge":
                continue
            if not isinstance(key_node, ScalarNode):
                raise self.problem(
                    key_node, "a key must be plain text, not a list or a mapping", path
                )
            key = str(key_node.value)
            if key in explicit:
                first_line = _position(explicit[key].start_mark)[0]
                raise self.problem(
                    key_node,
                    f"this key appears twice in the same mapping (first on line {first_line}); "
                    "YAML would silently keep the last one, so remove one",
                    (*path, key),
                )
            explicit[key] = key_node
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag != _TAG + "merge":
                continue
            for source in self.merge_sources(value_node, path):
                merged = self.build(source, path, depth, active)
                for key, value in merged.items():
                    if key not in explicit and key not in result:
                        result[key] = value
        self.positions.values[path] = _position(node.start_mark)
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                continue
            key = str(key_node.value)
            child = (*path, key)
            self.positions.keys[child] = _position(key_node.start_mark)
            result[key] = self.build(value_node, child, depth + 1, active)
        return result

    def merge_sources(self, node: Node, path: Path) -> list[Node]:
        if isinstance(node, MappingNode):
            return [node]
        if isinstance(node, SequenceNode) and all(
            isinstance(item, MappingNode) for item in node.value
        ):
            return list(node.value)
        raise self.problem(
            node, "a '<<' merge key needs an alias to a mapping, such as <<: *common", path
        )


def load_document(text: str) -> Document:
    """Parse one YAML document; ``data`` is None for an empty document."""
    root = _compose(text)
    builder = _Builder()
    if root is None:
        return Document(None, builder.positions)
    try:
        data = builder.build(root, (), 0, frozenset())
    except RecursionError:
        raise YamlProblem(
            1, 1, f"the YAML is nested too deeply; a manifest needs at most {MAX_DEPTH} levels"
        ) from None
    return Document(data, builder.positions)


def read_text(path: str | os.PathLike[str], *, limit: int, what: str, split_hint: str) -> str:
    """The UTF-8 text of a YAML file of at most ``limit`` bytes, or a :class:`YamlProblem`
    (at 1:1, or where the first byte that is not UTF-8 stands) saying what is wrong.

    Only a regular file is read: a FIFO, a device (``/dev/zero``) or a directory is refused at
    once, without waiting for a writer or reading without end. ``what`` names the file
    (``manifest``), ``split_hint`` says what to do with one that is too large."""
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise YamlProblem(1, 1, f"cannot read the {what}: {reason}") from None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise YamlProblem(
                1, 1, f"cannot read the {what}: it is not a regular file; name a YAML file"
            )
        with os.fdopen(handle, "rb", closefd=False) as stream:
            raw = stream.read(limit + 1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise YamlProblem(1, 1, f"cannot read the {what}: {reason}") from None
    finally:
        os.close(handle)
    if len(raw) > limit:
        raise YamlProblem(
            1,
            1,
            f"the file is larger than the {limit // (1024 * 1024)} MB a {what} may be; "
            + split_hint,
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start].decode("utf-8", errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        raise YamlProblem(
            line,
            column,
            f"the file is not UTF-8 text (byte 0x{raw[error.start]:02x}); save it as UTF-8",
        ) from None
