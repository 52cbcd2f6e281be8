"""The inspector's fields: one widget kind per :class:`~core.layers.Param` type.

Whole numbers and tuples of them get spin boxes with the param's range (text fields beyond
32 bits), floats a text field (so 0.001 and 1e-5 stay exact), choices a combo box, switches a
check box, shapes a text field that reads ``28, 28, 1`` or ``28×28×1``. Optional params get a
"default" box. The mouse wheel changes a value only when its field has the focus.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from core.layers import Param, ParamError

_INT32 = 2**31 - 1


class _FocusWheel:
    """Mixin: the wheel changes the value only with the focus; otherwise the form scrolls."""

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.hasFocus():  # type: ignore[attr-defined]
            super().wheelEvent(event)  # type: ignore[misc]
        else:
            event.ignore()


class _SpinBox(_FocusWheel, QSpinBox):
    pass


class _ComboBox(_FocusWheel, QComboBox):
    pass


class Field:
    """The editor of one param: shows a value, reads one back, calls ``commit`` on an edit."""

    def __init__(self, param: Param, parent: QWidget) -> None:
        self.param, self.name = param, f"param_{param.name}"
        self.commit: Callable[[], None] = lambda: None
        self.widget = QWidget(parent)
        self.row = QHBoxLayout(self.widget)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(4)
        self.focusables: list[QWidget] = []
        self.build()

    def add(self, widget: QWidget, name: str, stretch: int = 1) -> None:
        widget.setObjectName(name)
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.row.addWidget(widget, stretch)
        self.focusables.append(widget)

    def changed(self, *_: object) -> None:
        self.commit()

    def build(self) -> None:
        raise NotImplementedError

    def value(self) -> Any:
        """The value shown (not yet validated); :class:`ParamError` for unreadable text."""
        raise NotImplementedError

    def show(self, value: Any) -> None:
        raise NotImplementedError


class _SpinField(Field):
    """``int`` and ``ints``: one spin box per number, plus a "default" box when optional."""

    def build(self) -> None:
        p = self.param
        low = int(p.minimum) if p.minimum is not None else -_INT32
        high = int(p.maximum) - p.exclusive_maximum if p.maximum is not None else _INT32
        self.spins: list[_SpinBox] = []
        for i in range(p.length if p.type == "ints" else 1):
            spin = _SpinBox(self.widget)
            spin.setKeyboardTracking(False)  # typing 128 is one edit, not three
            spin.setRange(low, high)
            spin.valueChanged.connect(self.changed)
            spin.editingFinished.connect(self.changed)
            self.add(spin, f"{self.name}_{i}" if p.type == "ints" else self.name)
            self.spins.append(spin)
        self.default: QCheckBox | None = None
        if p.optional:
            self.default = QCheckBox("default", self.widget)
            self.default.setToolTip("Leave it empty: the layer's default behaviour.")
            self.default.toggled.connect(self.changed)
            self.add(self.default, f"{self.name}_default", 0)
        self.fill = min(max(1, low), high)

    def value(self) -> Any:
        if self.default is not None and self.default.isChecked():
            return None
        values = tuple(s.value() for s in self.spins)
        return values if self.param.type == "ints" else values[0]

    def show(self, value: Any) -> None:
        if self.default is not None:
            self.default.setChecked(value is None)
        items = value if isinstance(value, tuple) else (value,) * len(self.spins)
        for spin, item in zip(self.spins, items, strict=True):
            spin.setEnabled(value is not None)
            spin.setValue(self.fill if item is None else item)


class _TextField(Field):
    """``float``, ``shape`` and numbers too big for a spin box, typed as text."""

    def build(self) -> None:
        self.edit = QLineEdit(self.widget)
        if self.param.type == "shape":
            self.edit.setPlaceholderText("sizes, like 28, 28, 1")
        elif self.param.optional:
            self.edit.setPlaceholderText("default")
        self.edit.editingFinished.connect(self.changed)
        self.add(self.edit, self.name)

    def value(self) -> Any:
        text, p = self.edit.text().strip(), self.param
        if not text:
            return None
        if p.type == "float":
            try:
                return float(text.replace(",", "."))
            except ValueError:
                raise ParamError(f"{p.name} must be a number, like 0.001, not {text!r}.") from None
        try:
            items = tuple(int(t) for t in re.split(r"[\s,;×xX*]+", text) if t)
        except ValueError:
            raise ParamError(
                f"{p.name} needs whole numbers separated by commas, like 28, 28, 1; "
                f"{text!r} is not that."
            ) from None
        return items if p.type in ("ints", "shape") or len(items) != 1 else items[0]

    def show(self, value: Any) -> None:
        if value is None:
            text = ""
        elif isinstance(value, tuple):
            text = ", ".join(str(v) for v in value)
        else:
            text = repr(value) if isinstance(value, float) else str(value)
        if self.edit.text() != text:
            self.edit.setText(text)


class _ChoiceField(Field):
    """``choice``: a combo box (with a "(default)" entry when optional)."""

    def build(self) -> None:
        self.combo = _ComboBox(self.widget)
        if self.param.optional:
            self.combo.addItem("(default)", None)
        for choice in self.param.choices:
            self.combo.addItem(choice, choice)
        self.combo.currentIndexChanged.connect(self.changed)
        self.add(self.combo, self.name)

    def value(self) -> Any:
        return self.combo.currentData()

    def show(self, value: Any) -> None:
        self.combo.setCurrentIndex(self.combo.findData(value))


class _BoolField(Field):
    """``bool``: a check box (three states when optional: the middle one is "default")."""

    def build(self) -> None:
        self.box = QCheckBox(self.widget)
        self.box.setTristate(self.param.optional)
        self.box.checkStateChanged.connect(self.changed)
        self.add(self.box, self.name, 0)
        self.row.addStretch(1)

    def value(self) -> Any:
        state = self.box.checkState()
        return None if state == Qt.CheckState.PartiallyChecked else state == Qt.CheckState.Checked

    def show(self, value: Any) -> None:
        on = Qt.CheckState.Checked if value else Qt.CheckState.Unchecked
        self.box.setCheckState(Qt.CheckState.PartiallyChecked if value is None else on)


def field_class(p: Param) -> type[Field]:
    if p.type in ("int", "ints"):
        fits = all(b is None or abs(b) <= _INT32 for b in (p.minimum, p.maximum))
        return _SpinField if fits else _TextField
    return {"bool": _BoolField, "choice": _ChoiceField}.get(p.type, _TextField)


def param_tooltip(p: Param) -> str:
    """Rich text (so that Qt wraps it): the help line, the allowed values, studio-only or not."""
    lines = [p.help, f"Allowed: {p.describe()}"]
    if p.studio_only:
        lines.append("A studio setting: Keras has no such argument.")
    return "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in lines)
