"""``layer-studio [FILE]``: the window; ``--screenshot OUT.png`` renders it to a picture."""

from __future__ import annotations

import argparse
import os
import sys

from studio.scripted import add_options, check_options

COMMANDS = (
    "templates",
    "layers",
    "new",
    "info",
    "predict",
    "train",
    "evaluate",
    "export",
    "desktop-entry",
)


def wants_window(argv: list[str]) -> bool:
    """True when the arguments name no subcommand: no arguments, a file, or --screenshot."""
    if not argv:
        return True
    first = argv[0]
    return first == "--screenshot" or (first not in COMMANDS and not first.startswith("-"))


def run_window(argv: list[str]) -> int:
    """Open the main window (with FILE), or render it to ``--screenshot`` and exit."""
    parser = argparse.ArgumentParser(prog="layer-studio", description="Open the studio window.")
    parser.add_argument("file", nargs="?", help="a model file (.h5) to open")
    parser.add_argument("--screenshot", metavar="OUT.png", help="render the window and exit")
    parser.add_argument(
        "--size", metavar="WxH", default="1400x900", help="the window's size (default 1400x900)"
    )
    parser.add_argument(
        "--theme", choices=("system", "light", "dark"), help="colours (default: Preferences')"
    )
    parser.add_argument("--template", metavar="NAME", help="start from a template (no FILE)")
    parser.add_argument("--select", metavar="LAYER", help="select this layer (by name)")
    parser.add_argument(
        "--zoom", type=int, metavar="PERCENT", help="this zoom, from the model's top (else fit)"
    )
    parser.add_argument(
        "--export", choices=("pytorch", "keras", "onnx"), metavar="FORMAT",
        help="with --screenshot: the picture is of File > Export... showing this format",
    )  # fmt: skip
    add_options(parser)
    args = parser.parse_args(argv)
    check_options(parser, args)
    if args.file and args.template:
        parser.error("give a FILE or --template, not both")
    if args.export and not args.screenshot:
        parser.error("--export needs --screenshot")
    if args.zoom is not None and not 10 <= args.zoom <= 400:
        parser.error("--zoom must be between 10 and 400 (percent)")
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
        if not (320 <= width <= 10000 and 240 <= height <= 10000):
            raise ValueError
    except ValueError:
        parser.error(f"--size must look like 1400x900 (320x240 to 10000x10000), not {args.size!r}")
    if args.screenshot and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a picture needs no screen
    from PySide6.QtWidgets import QApplication, QWidget

    from core.h5io import ModelFileError, load_model
    from core.templates import load_template
    from studio.scripted import drive, stop
    from ui.main_window import MainWindow
    from ui.theme import apply_theme, follow_system

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Layer Studio")
    app.setDesktopFileName("layer-studio")  # pairs the windows with the menu entry
    from ui.icons import app_icon

    app.setWindowIcon(app_icon())
    from ui.about import versions
    from ui.crash_dialog import LOG, install, start_logging

    start_logging()
    LOG.info("Started: %s", ", ".join(f"{k} {v}" for k, v in versions().items()))
    install()  # an error nobody caught: a dialog with the details, and the window lives
    from ui.preferences import saved_theme

    theme = args.theme or saved_theme()
    apply_theme(app, theme)
    if theme == "system":
        follow_system(app)
    graph = None
    if args.template:
        try:
            graph = load_template(args.template)
        except KeyError as err:
            print(f"layer-studio: error: {err.args[0]}", file=sys.stderr)
            return 2
    window = MainWindow(graph, restore_layout=not args.screenshot)  # pictures: the defaults
    window.resize(width, height)
    if args.file:
        if args.screenshot:  # no one to click a message box away: check first
            try:
                load_model(args.file)
            except ModelFileError as err:
                print(f"layer-studio: error: Cannot read {err}", file=sys.stderr)
                return 2
        window.open_path(args.file)
    window.show()
    app.processEvents()
    if args.select and not window.select_layer(args.select):
        print(f"layer-studio: error: There is no layer called {args.select!r}.", file=sys.stderr)
        return 2
    if args.zoom is not None:
        window.show_top(args.zoom / 100)
    elif args.screenshot:
        window.fit_view()
    problem = drive(window, args)
    if problem:
        stop(window)
        print(f"layer-studio: error: {problem}", file=sys.stderr)
        return 2
    if args.screenshot:
        app.processEvents()
        shown: QWidget = window
        if args.export:
            dialog = window.export_dialog()
            dialog.format_box.setCurrentIndex(dialog.format_box.findData(args.export))
            dialog.resize(900, 640)
            app.processEvents()
            shown = dialog
        saved = shown.grab().save(args.screenshot)
        stop(window)
        if not saved:
            print(f"layer-studio: error: Cannot write {args.screenshot}.", file=sys.stderr)
            return 2
        print(f"Saved a picture of the window to {args.screenshot}")
        return 0
    from ui.recovery import offer_recovery
    from ui.welcome import show_welcome_once

    offer_recovery(window)  # work a crash left behind, if any
    show_welcome_once(window)  # three steps, at the first start
    return int(app.exec())
