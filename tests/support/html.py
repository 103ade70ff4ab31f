"""A small HTML tree (html.parser) for assertions about structure, not substrings.

`parse(body)` returns the root `Node`; `field_error(root, field, message)` says where the
error message of a form field is, or why it is not associated with the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})


@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def text(self) -> str:
        parts = list(self.texts)
        for child in self.children:
            parts.append(child.text())
        return " ".join(" ".join(parts).split())

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, parent=self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {k: v or "" for k, v in attrs},
                                          parent=self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.texts.append(data)


def parse(body: str) -> Node:
    builder = _Builder()
    builder.feed(body)
    builder.close()
    return builder.root


def _holds_other_fields(node: Node, name: str) -> bool:
    return any(n.tag in ("input", "select", "textarea") and n.attrs.get("type") != "hidden"
               and n.attrs.get("name") != name and n.attrs.get("id") != name
               for n in node.iter())


def field_error(root: Node, name: str, message: str) -> str | None:
    """None when an error containing `message` is tied to the form field `name`: named by
    the field's `aria-describedby`, or an `invalid-feedback` in the field's own wrapper (its
    parent, or grandparent when that holds no other field). Otherwise the reason, for the assertion message."""
    controls = [n for n in root.iter() if n.tag in ("input", "select", "textarea")
                and (n.attrs.get("id") == name or n.attrs.get("name") == name)]
    if not controls:
        return f"no field {name!r} on the page"
    by_id = {n.attrs["id"]: n for n in root.iter() if "id" in n.attrs}
    wanted = message.lower()
    for control in controls:
        for ref in control.attrs.get("aria-describedby", "").split():
            target = by_id.get(ref)
            if target is not None and wanted in target.text().lower():
                return None
        wrapper = control.parent
        for _ in range(2):
            if wrapper is None or _holds_other_fields(wrapper, name):
                break  # the message would be another field's as much as this one's
            for node in wrapper.iter():
                if "invalid-feedback" in node.classes() and wanted in node.text().lower():
                    return None
            wrapper = wrapper.parent
    described = [c.attrs.get("aria-describedby") for c in controls]
    return (f"no error containing {message!r} is tied to {name!r} "
            f"(aria-describedby={described}, and none in its wrapper)")
