"""The flow graph: steps laid out in layers (`callguide.flow.graph.layers`), transitions as
arrows. Unreachable steps, dead ends and invariant violations are highlighted; coverage from
a test run is painted on nodes and edges; agents' flags show as a badge. Clicking a node
emits `step_clicked(step_id)`."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from callguide.flow.graph import layers, started_flows
from callguide.flow.model import Flow
from callguide.qt.i18n import tr
from callguide.qt.workbench.status import StepMarks

NODE_W, NODE_H, H_GAP, V_GAP = 190.0, 56.0, 44.0, 72.0
MAX_NODE_W = 420.0

KIND_FILL = {"say": "#e8f0fe", "ask": "#e3f2fd", "capture": "#ede7f6", "consent": "#fff8e1", "decision": "#f3f3f3",
             "action": "#e0f2f1", "outcome": "#e8f5e9"}
HIT = QColor("#2e7d32")
MISSED = QColor("#9e9e9e")


class StepNode(QGraphicsRectItem):
    def __init__(self, view: FlowGraphView, step_id: str, rect: QRectF):
        super().__init__(rect)
        self.view = view
        self.step_id = step_id
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAcceptHoverEvents(True)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.view.step_clicked.emit(self.step_id)
        super().mousePressEvent(event)


class FlowGraphView(QGraphicsView):
    step_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("flowGraph")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.scene_ = QGraphicsScene(self)
        self.setScene(self.scene_)
        self.setBackgroundBrush(QColor("#fbfbfb"))
        self.nodes: dict[str, StepNode] = {}
        self.titles: dict[str, QGraphicsSimpleTextItem] = {}
        self.edge_labels: list[QGraphicsSimpleTextItem] = []
        self.flow: Flow | None = None
        self._placed: list[QRectF] = []
        self._node_rects: list[QRectF] = []

    def wheelEvent(self, event) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            f = 1.15 if event.angleDelta().y() > 0 else 1 / 1.15
            self.scale(f, f)
        else:
            super().wheelEvent(event)

    # ------------------------------------------------------------------ painting

    def show_flow(self, flow: Flow | None, marks: dict[str, StepMarks] | None = None,
                  flags: dict[str, int] | None = None, coverage: tuple[set[str], set[tuple[str, int]]] | None = None,
                  selected: str | None = None) -> None:
        self.scene_.clear()
        self.nodes = {}
        self.titles = {}
        self.edge_labels = []
        self._placed = []
        self.flow = flow
        if flow is None:
            msg = self.scene_.addSimpleText(tr("graph.no_flow"))
            msg.setBrush(QColor("#666666"))
            return
        marks = marks or {}
        flags = flags or {}
        lay = layers(flow)
        by_layer: dict[int, list[str]] = {}
        for s in flow.steps:
            by_layer.setdefault(lay.get(s.id, 0), []).append(s.id)
        widest = max((len(v) for v in by_layer.values()), default=1)
        node_w = self._node_width(flow)
        total_w = widest * node_w + (widest - 1) * H_GAP
        pos: dict[str, QRectF] = {}
        top = 40.0
        for n in sorted(by_layer):
            ids = by_layer[n]
            row_w = len(ids) * node_w + (len(ids) - 1) * H_GAP
            x = (total_w - row_w) / 2
            y = top + n * (NODE_H + V_GAP)
            for sid in ids:
                pos[sid] = QRectF(x, y, node_w, NODE_H)
                x += node_w + H_GAP
        self._node_rects = list(pos.values())
        steps_hit, trans_hit = coverage if coverage is not None else (set(), set())
        # edges first, under the nodes
        for s in flow.steps:
            for i, t in enumerate(s.transitions):
                if t.to not in pos or s.id not in pos:
                    continue
                taken = (s.id, i) in trans_hit
                color = (HIT if taken else MISSED) if coverage is not None else QColor("#546e7a")
                self._edge(pos[s.id], pos[t.to], color, dashed=bool(t.when), width=2.4 if taken else 1.4,
                           label=t.id or "")
        for s in flow.steps:
            r = pos[s.id]
            m = marks.get(s.id, StepMarks())
            node = StepNode(self, s.id, r)
            fill = QColor(KIND_FILL.get(s.kind, "#ffffff"))
            if coverage is not None:
                fill = QColor("#c8e6c9") if s.id in steps_hit else QColor("#eeeeee")
            node.setBrush(QBrush(fill))
            pen = QPen(QColor("#455a64"), 1.2)
            tips = []
            if s.id == flow.start:
                pen.setWidthF(2.6)
            if m.unreachable:
                pen = QPen(QColor("#ef6c00"), 2.6, Qt.PenStyle.DashLine)
                tips.append(tr("graph.unreachable"))
            if m.dead_end:
                pen = QPen(QColor("#c62828"), 2.6)
                tips.append(tr("graph.dead_end"))
            if m.invariant:
                pen = QPen(QColor("#8e24aa"), 3.2)
                tips.extend(m.invariant)
            elif m.errors and not (m.unreachable or m.dead_end):
                pen = QPen(QColor("#c62828"), 2.2)
            tips.extend(m.errors)
            tips.extend(m.warnings)
            if s.id == selected:
                pen = QPen(QColor("#1565c0"), 3.4)
            node.setPen(pen)
            node.setToolTip("\n".join(dict.fromkeys(tips)) or s.id)
            node.setZValue(2)
            self.scene_.addItem(node)
            self.nodes[s.id] = node
            title = QGraphicsSimpleTextItem(s.id, node)
            title.setFont(_title_font())
            self._fit(title, r, 6)
            self.titles[s.id] = title
            small = QGraphicsSimpleTextItem(_subtitle(s), node)
            small.setFont(_small_font())
            small.setBrush(QColor("#555555"))
            self._fit(small, r, 28)
            badge_txt = []
            if m.invariant:
                badge_txt.append(("!", QColor("#8e24aa")))
            if flags.get(s.id):
                badge_txt.append((f"\u2691 {flags[s.id]}", QColor("#e65100")))
            bx = r.right() - 4
            for txt, col in badge_txt:
                b = QGraphicsSimpleTextItem(txt, node)
                bf = QFont()
                bf.setBold(True)
                bf.setPointSize(8)
                b.setFont(bf)
                b.setBrush(col)
                bw = b.boundingRect().width()
                bx -= bw + 8
                bg = QGraphicsRectItem(QRectF(bx - 3, r.top() - 9, bw + 6, 16), node)
                bg.setBrush(QColor("#ffffff"))
                bg.setPen(QPen(col, 1.2))
                b.setParentItem(bg)
                b.setPos(bx, r.top() - 9)
        self._legend(coverage is not None)
        self.scene_.setSceneRect(self.scene_.itemsBoundingRect().adjusted(-30, -30, 30, 30))

    @staticmethod
    def _node_width(flow: Flow) -> float:
        """Wide enough for every step's id and kind line (so no label is cut), within bounds."""
        tf, sf = QFontMetricsF(_title_font()), QFontMetricsF(_small_font())
        need = max((max(tf.horizontalAdvance(s.id), sf.horizontalAdvance(_subtitle(s))) for s in flow.steps),
                   default=0.0)
        return min(MAX_NODE_W, max(NODE_W, need + 24))

    @staticmethod
    def _fit(item: QGraphicsSimpleTextItem, r: QRectF, dy: float) -> None:
        text = item.text()
        while item.boundingRect().width() > r.width() - 12 and len(text) > 4:
            text = text[:-2]
            item.setText(text + "\u2026")
        item.setPos(r.left() + (r.width() - item.boundingRect().width()) / 2, r.top() + dy)

    def _edge(self, a: QRectF, b: QRectF, color: QColor, dashed: bool, width: float, label: str) -> None:
        path = QPainterPath()
        if b.top() > a.bottom():
            p1 = QPointF(a.center().x(), a.bottom())
            p2 = QPointF(b.center().x(), b.top())
            dy = (p2.y() - p1.y()) / 2
            off = 0.0
            if p2.y() - p1.y() > V_GAP + NODE_H:  # skips a layer: swing round the nodes in between
                off = a.width() * 1.1 * (1 if p2.x() >= p1.x() else -1)
            path.moveTo(p1)
            path.cubicTo(QPointF(p1.x() + off, p1.y() + dy), QPointF(p2.x() + off, p2.y() - dy), p2)
            end, direction = p2, QPointF(0, 1)
        else:  # a back edge (a loop): round the right-hand side
            p1 = QPointF(a.right(), a.center().y())
            p2 = QPointF(b.right(), b.center().y())
            bulge = max(a.right(), b.right()) + 50
            path.moveTo(p1)
            path.cubicTo(QPointF(bulge, p1.y()), QPointF(bulge, p2.y()), p2)
            end, direction = p2, QPointF(-1, 0)
        item = QGraphicsPathItem(path)
        pen = QPen(color, width, Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        item.setPen(pen)
        item.setZValue(1)
        self.scene_.addItem(item)
        # arrowhead
        size = 8.0
        if direction.y():
            poly = QPolygonF([end, QPointF(end.x() - size / 2, end.y() - size), QPointF(end.x() + size / 2, end.y() - size)])
        else:
            poly = QPolygonF([end, QPointF(end.x() + size, end.y() - size / 2), QPointF(end.x() + size, end.y() + size / 2)])
        head = self.scene_.addPolygon(poly, QPen(color), QBrush(color))
        head.setZValue(1)
        if label:
            self._label(path, label, color)

    def _label(self, path: QPainterPath, label: str, color: QColor) -> None:
        """An answer's label on its edge, on a white chip, where it overlaps no other label and no
        node (tried along the edge, nearest the middle first, then stepped down)."""
        t = QGraphicsSimpleTextItem(label)
        f = QFont()
        f.setPointSize(8)
        t.setFont(f)
        t.setBrush(color.darker(140))
        br = t.boundingRect()
        w, h = br.width() + 8, br.height() + 2

        def rect_at(pt: QPointF) -> QRectF:
            return QRectF(pt.x() - w / 2, pt.y() - h / 2, w, h)

        def free(r: QRectF) -> bool:
            return not any(r.intersects(o) for o in self._placed) and not any(
                r.intersects(n.adjusted(-2, -2, 2, 2)) for n in self._node_rects)

        chosen = None
        for pct in (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78, 0.15, 0.85):
            r = rect_at(path.pointAtPercent(pct))
            if free(r):
                chosen = r
                break
        if chosen is None:
            r = rect_at(path.pointAtPercent(0.5))
            for _ in range(40):
                r = r.translated(0, h + 1)
                if free(r):
                    break
            chosen = r
        self._placed.append(chosen)
        chip = QGraphicsRectItem(chosen)
        chip.setBrush(QColor(255, 255, 255, 235))
        chip.setPen(QPen(color.lighter(140), 0.8))
        chip.setZValue(3)
        self.scene_.addItem(chip)
        t.setParentItem(chip)
        t.setPos(chosen.left() + 4, chosen.top() + 1)
        self.edge_labels.append(t)

    def _legend(self, coverage: bool) -> None:
        items = [(tr("graph.legend.start"), QPen(QColor("#455a64"), 2.6)),
                 (tr("graph.legend.unreachable"), QPen(QColor("#ef6c00"), 2.6, Qt.PenStyle.DashLine)),
                 (tr("graph.legend.dead_end"), QPen(QColor("#c62828"), 2.6)),
                 (tr("graph.legend.invariant"), QPen(QColor("#8e24aa"), 3.2))]
        x = 0.0
        for text, pen in items:
            box = self.scene_.addRect(QRectF(x, 0, 14, 12), pen, QBrush(QColor("#ffffff")))
            box.setZValue(4)
            t = self.scene_.addSimpleText(text)
            t.setPos(x + 20, -2)
            x += 28 + t.boundingRect().width() + 10
        t = self.scene_.addSimpleText(tr("graph.legend.flags") + ("   " + tr("graph.legend.coverage")
                                                                   if coverage else ""))
        t.setBrush(QColor("#555555"))
        t.setPos(x, -2)

    def label_rects(self) -> list[QRectF]:
        """Where the edge labels sit (scene coordinates), for checks."""
        return list(self._placed)

    def select_step(self, step_id: str | None) -> None:
        node = self.nodes.get(step_id or "")
        if node is not None:
            self.centerOn(node)


def _title_font() -> QFont:
    f = QFont()
    f.setBold(True)
    f.setPointSize(9)
    return f


def _small_font() -> QFont:
    f = QFont()
    f.setPointSize(8)
    return f


def _subtitle(s) -> str:
    sub = s.kind + (f": {s.outcome}" if s.outcome else "")
    pushed = started_flows(s)
    if pushed:
        sub += "  \u2192 " + ", ".join(pushed)
    return sub
