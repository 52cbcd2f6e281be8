"""The end of the exported PyTorch script: ``predict`` and the script's command line.

``python model.py`` trains (on the model's own data or ``--data``) and saves the weights;
``--weights`` loads the studio's ``.h5`` or a saved ``.pt``; ``--evaluate`` prints the loss and
metrics; ``--predict X.npy`` (one per input) writes the predictions. Under ``torchrun`` only the
first process saves.
"""

from __future__ import annotations

from core.export.codeformat import format_lines, quoted


def predict_source(dtypes: list[str]) -> str:
    """``INPUT_TYPES`` (one torch dtype per model input) and ``predict``, batch by batch."""
    return "\n".join(
        [
            f"INPUT_TYPES = [{', '.join(dtypes)}]",
            "",
            "",
            "def predict(model, inputs, batch_size=256):",
            '    """The model\'s outputs for numpy inputs (one array per model input)."""',
            "    model.eval()",
            "    results = []",
            "    with torch.no_grad():",
            "        for start in range(0, len(inputs[0]), batch_size):",
            "            batch = [",
            "                torch.from_numpy(np.asarray(x[start : start + batch_size])).to(kind)",
            "                for x, kind in zip(inputs, INPUT_TYPES, strict=True)",
            "            ]",
            "            outputs = model(*batch)",
            "            if isinstance(outputs, torch.Tensor):",
            "                outputs = (outputs,)",
            "            results.append([y.numpy() for y in outputs])",
            "    return [np.concatenate(parts) for parts in zip(*results, strict=True)]",
            "",
        ]
    )


def main_source(name: str, stem: str, output_names: list[str]) -> str:
    """The script's own command line: train and save, evaluate, or predict with weights.

    Args:
        name: The model's class.
        stem: The script's file name without ``.py``, which names the saved weights.
        output_names: One name per model output, for a ``.npz`` of several predictions.
    """
    lines = [
        "def main(argv=None):",
        '    """Train the model and save its weights, or predict with trained weights."""',
        "    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])",
        '    parser.add_argument("--weights", help="a .h5 from the studio, or a .pt from here")',
        "    parser.add_argument(",
        '        "--predict",',
        '        action="append",',
        '        metavar="X.npy",',
        '        help="inputs to predict, one --predict per model input, in PyTorch\'s layout",',
        "    )",
        '    parser.add_argument("-o", "--output", default="predictions.npy")',
        '    parser.add_argument("--data", help="train on this .npz (x or x0, x1...; y)")',
        '    parser.add_argument("--evaluate", action="store_true", help="no training")',
        '    parser.add_argument("--epochs", type=int, default=EPOCHS)',
        '    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)',
        f'    parser.add_argument("--save", default={quoted(stem + ".pt")})',
        "    args = parser.parse_args(argv)",
        f"    model = {name}()",
        "    if args.weights:",
        '        if args.weights.endswith(".pt"):',
        "            model.load_state_dict(torch.load(args.weights, weights_only=True))",
        "        else:",
        "            load_weights(model, args.weights)",
        "    if args.predict:",
        "        if len(args.predict) != len(INPUT_TYPES):",
        '            count = f"{len(INPUT_TYPES)} input(s)"',
        '            raise SystemExit(f"The model takes {count}: give one --predict each.")',
        "        outputs = predict(model, [np.load(path) for path in args.predict])",
        "        if len(outputs) == 1:",
        "            np.save(args.output, outputs[0])",
        "        else:",
        *format_lines([f"names = [{', '.join(quoted(n) for n in output_names)}]"], 12),
        '            args.output = os.path.splitext(args.output)[0] + ".npz"',
        "            np.savez(args.output, **dict(zip(names, outputs, strict=True)))",
        '        print(f"Wrote {args.output}")',
        "        return",
        "    inputs, y = load_npz(args.data) if args.data else load_data()",
        "    if args.evaluate:",
        "        results = evaluate(model, inputs, y, batch_size=args.batch_size)",
        "        for name, value in results.items():",
        '            print(f"{name}: {value:.4f}")',
        "        return",
        "    fit(model, inputs, y, epochs=args.epochs, batch_size=args.batch_size)",
        "    if is_main_process():",
        "        torch.save(model.state_dict(), args.save)",
        '        print(f"Saved the trained weights to {args.save}")',
        "    finish()",
    ]
    return "\n".join(lines) + "\n"
