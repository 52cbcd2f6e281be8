"""The confusion matrix as a heat map: true classes down the side, predicted classes along the
top, the count in each cell, its colour the share of its row. Clicking a cell asks for the
samples it counts (:attr:`ConfusionView.cellClicked`)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

#: At most this many classes are drawn; more show the largest ones and a note.
MAX_CLASSES = 20
#: Right answers are tinted with the palette's highlight, mistakes with this red.
MISTAKE = QColor("#d64541")
_GAP = 6.0


def _mix(base: QColor, tint: QColor, amount: float) -> QColor:
    a = max(0.0, min(1.0, amount))
    return QColor.fromRgbF(
        base.redF() + (tint.redF() - base.redF()) * a,
        base.greenF() + (tint.greenF() - base.greenF()) * a,
        base.blueF() + (tint.blueF() - base.blueF()) * a,
    )


def _ink_for(background: QColor) -> QColor:
    """Black or white, whichever reads better on ``background``."""
    light = 0.2126 * background.redF() + 0.7152 * background.greenF()
    light += 0.0722 * background.blueF()
    return QColor("#111111") if light > 0.55 else QColor("#ffffff")


def shown_classes(matrix: np.ndarray, most: int = MAX_CLASSES) -> list[int]:
    """The classes drawn: all of them, or the ``most`` with the most samples (true or
    predicted), in class order."""
    k = len(matrix)
    if k <= most:
        return list(range(k))
    weight = matrix.sum(axis=0) + matrix.sum(axis=1)
    chosen = np.argsort(-weight, kind="stable")[:most]
    return sorted(int(c) for c in chosen)


class ConfusionView(QWidget):
    """A custom-painted confusion matrix that scales with the widget.

    Signals:
        cellClicked(int, int): The true and the predicted class (ids) of the clicked cell.
    """

    cellClicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix = np.zeros((0, 0), np.int64)
        self.class_names: list[str] = []
        self.shown: list[int] = []
        self.selected: tuple[int, int] | None = None
        self.setMouseTracking(True)
        self.setMinimumSize(220, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("")

    def sizeHint(self) -> QSize:
        return QSize(460, 420)

    # -- the model ------------------------------------------------------------------------

    def set_matrix(self, matrix: np.ndarray, class_names: list[str]) -> None:
        """Show ``matrix`` (true class rows by predicted class columns)."""
        self.matrix = np.asarray(matrix, np.int64)
        self.class_names = list(class_names)
        self.shown = shown_classes(self.matrix)
        self.selected = None
        self.update()

    def select(self, cell: tuple[int, int] | None) -> None:
        """Outline one cell (class ids), or none."""
        self.selected = cell
        self.update()

    @property
    def note(self) -> str:
        """What is left out, in words ('' when every class is drawn)."""
        k = len(self.matrix)
        if len(self.shown) >= k:
            return ""
        return f"Showing the {len(self.shown)} classes with the most samples of {k}."

    # -- geometry -------------------------------------------------------------------------

    def _label_font(self) -> QFont:
        font = QFont(self.font())
        n = max(1, len(self.shown))
        font.setPointSizeF(max(7.0, min(font.pointSizeF(), 10.0 if n <= 10 else 8.5)))
        return font

    def _margins(self) -> tuple[float, float]:
        """The room for the row names (left) and the column names (top)."""
        metrics = QFontMetricsF(self._label_font())
        caption = metrics.height() + _GAP
        left = self._name_width() + caption + 2 * _GAP
        top_names = (
            min(self._widest(), self.height() * 0.3) if self._slanted() else metrics.height()
        )
        return left, top_names + caption + 2 * _GAP

    def _widest(self) -> float:
        metrics = QFontMetricsF(self._label_font())
        names = [self.class_names[c] for c in self.shown] or [""]
        return max(metrics.horizontalAdvance(n) for n in names)

    def _name_width(self) -> float:
        """The room for the row names."""
        return min(self._widest() + 2, self.width() * 0.3)

    def _slanted(self) -> bool:
        """Whether the column names are drawn upwards (too wide to fit across a cell)."""
        metrics = QFontMetricsF(self._label_font())
        widest = max(
            (metrics.horizontalAdvance(self.class_names[c]) for c in self.shown), default=0
        )
        return widest > self._cell_guess() - 4

    def _cell_guess(self) -> float:
        n = max(1, len(self.shown))
        return max(8.0, (min(self.width(), self.height()) - 60) / n)

    def grid_rect(self) -> QRectF:
        """Where the cells are, in widget coordinates (square cells, centred)."""
        n = max(1, len(self.shown))
        left, top = self._margins()
        side = max(8.0 * n, min(self.width() - left - _GAP, self.height() - top - _GAP))
        cell = side / n
        free = self.width() - left - _GAP - side
        return QRectF(left + max(0.0, free) / 2, top, cell * n, cell * n)

    def cell_rect(self, true_class: int, predicted_class: int) -> QRectF:
        """The rectangle of one cell (class ids), or an empty one when it is not drawn."""
        if true_class not in self.shown or predicted_class not in self.shown:
            return QRectF()
        grid = self.grid_rect()
        cell = grid.width() / len(self.shown)
        row, col = self.shown.index(true_class), self.shown.index(predicted_class)
        return QRectF(grid.left() + col * cell, grid.top() + row * cell, cell, cell)

    def cell_at(self, point: QPointF) -> tuple[int, int] | None:
        """The (true, predicted) class ids of the cell under ``point``, or None."""
        grid = self.grid_rect()
        if not self.shown or not grid.contains(point):
            return None
        cell = grid.width() / len(self.shown)
        col = min(len(self.shown) - 1, int((point.x() - grid.left()) / cell))
        row = min(len(self.shown) - 1, int((point.y() - grid.top()) / cell))
        return self.shown[row], self.shown[col]

    # -- events ---------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        hit = self.cell_at(event.position())
        if hit is not None and event.button() == Qt.MouseButton.LeftButton:
            self.select(hit)
            self.cellClicked.emit(*hit)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        hit = self.cell_at(event.position())
        cursor = Qt.CursorShape.PointingHandCursor if hit else Qt.CursorShape.ArrowCursor
        self.setCursor(cursor)
        super().mouseMoveEvent(event)

    def event(self, event: object) -> bool:
        if isinstance(event, QHelpEvent) and event.type() == QHelpEvent.Type.ToolTip:
            hit = self.cell_at(QPointF(event.pos()))
            if hit is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.describe(*hit), self)
            return True
        return super().event(event)  # type: ignore[arg-type]

    def describe(self, true_class: int, predicted_class: int) -> str:
        """One cell in words, for its tooltip."""
        count = int(self.matrix[true_class, predicted_class])
        total = int(self.matrix[true_class].sum())
        share = f" ({count / total:.0%} of them)" if total else ""
        true, pred = self.class_names[true_class], self.class_names[predicted_class]
        what = "rightly" if true_class == predicted_class else f"wrongly as '{pred}'"
        return (
            f"{count:,} of the {total:,} samples of '{true}' were classified {what}{share}. "
            "Click to see them."
        )

    # -- painting -------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        if not self.shown:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No results yet.")
            return
        base = palette.color(QPalette.ColorRole.Base)
        right = palette.color(QPalette.ColorRole.Highlight)
        faint = palette.color(QPalette.ColorRole.PlaceholderText)
        grid = self.grid_rect()
        n = len(self.shown)
        cell = grid.width() / n
        rows = self.matrix[np.ix_(self.shown, self.shown)]
        totals = self.matrix[self.shown].sum(axis=1)
        count_font = QFont(self.font())
        count_font.setPointSizeF(max(6.0, min(15.0, cell * 0.25)))
        digits = len(f"{int(rows.max()):,}") if rows.size else 1
        while digits > 2 and QFontMetricsF(count_font).horizontalAdvance("8" * digits) > cell - 4:
            if count_font.pointSizeF() <= 6.0:
                break
            count_font.setPointSizeF(count_font.pointSizeF() - 0.5)
        fits = QFontMetricsF(count_font).horizontalAdvance("8" * digits) <= cell - 2
        painter.setFont(count_font)
        for r in range(n):
            for c in range(n):
                count = int(rows[r, c])
                share = count / totals[r] if totals[r] else 0.0
                tint = right if r == c else MISTAKE
                if not count:
                    amount = 0.0
                elif r == c:
                    amount = share**0.7
                else:  # any mistake shows, the more of the row the stronger
                    amount = 0.15 + 0.85 * share**0.6
                colour = _mix(base, tint, amount)
                rect = QRectF(grid.left() + c * cell, grid.top() + r * cell, cell, cell)
                painter.fillRect(rect, colour)
                if fits:
                    painter.setPen(_ink_for(colour) if count else faint)
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{count:,}")
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.drawRect(grid)
        if self.selected is not None:
            rect = self.cell_rect(*self.selected)
            if not rect.isEmpty():
                painter.setPen(QPen(text, 2.5))
                painter.drawRect(rect.adjusted(1, 1, -1, -1))
        self._paint_labels(painter, grid, cell, text)

    def _paint_labels(self, painter: QPainter, grid: QRectF, cell: float, text: QColor) -> None:
        font = self._label_font()
        metrics = QFontMetricsF(font)
        painter.setFont(font)
        painter.setPen(text)
        names = [self.class_names[c] for c in self.shown]
        line = metrics.height()
        width = self._name_width()
        for i, name in enumerate(names):
            y = grid.top() + i * cell
            rect = QRectF(grid.left() - _GAP - width, y, width, cell)
            label = metrics.elidedText(name, Qt.TextElideMode.ElideRight, width)
            painter.drawText(
                rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label
            )
        slanted = self._slanted()
        room = grid.top() - line - 2 * _GAP
        for i, name in enumerate(names):
            x = grid.left() + i * cell
            if slanted:
                label = metrics.elidedText(name, Qt.TextElideMode.ElideRight, room)
                painter.save()
                painter.translate(x + cell / 2 + line / 3, grid.top() - _GAP)
                painter.rotate(-90)
                painter.drawText(QPointF(0, 0), label)
                painter.restore()
            else:
                rect = QRectF(x, grid.top() - _GAP - line, cell, line)
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, name)
        bold = QFont(font)
        bold.setBold(True)
        painter.setFont(bold)
        top = QRectF(grid.left(), 0, grid.width(), line + _GAP)
        painter.drawText(top, Qt.AlignmentFlag.AlignCenter, "Predicted class")
        painter.save()
        painter.translate(grid.left() - 2 * _GAP - width - 0.4 * line, grid.center().y())
        painter.rotate(-90)
        painter.drawText(
            QRectF(-grid.height() / 2, -line, grid.height(), line * 1.4),
            Qt.AlignmentFlag.AlignCenter,
            "True class",
        )
        painter.restore()
