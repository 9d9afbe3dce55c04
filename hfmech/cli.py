"""The ``hfmech`` command: ``zoo``, ``serve`` and each mechanism's subcommands (from ``hfmech/<mechanism>/cli.py``).

    hfmech zoo list | build NAME [--force] | build --all | push NAME --repo ORG/NAME
    hfmech serve [--host 127.0.0.1] [--port 7860]
    hfmech <mechanism command> ...     (``hfmech --help`` lists them; each mechanism's ``cli.py`` defines its own)

User errors (bad images, unknown layers or zoo names, out-of-range parameters, out-of-vocabulary words, malformed
analogies, unreadable benchmark files) print one ``error:`` line and exit 2.
"""

from __future__ import annotations

import argparse
import sys

from .mechanisms import MECHANISMS


def _zoo(args) -> int:
    from .errors import USER_ERRORS
    from .hub import zoo
    from .hub.zoo import ZooError

    if args.zoo_command == "list":
        rows = [
            (e.name, e.task, "built" if zoo.is_built(e.name) else "-", e.description) for e in zoo.entries()
        ]
        width = max((len(r[0]) for r in rows), default=4)
        for name, task, built, description in rows:
            print(f"{name:<{width}}  {task:<14} {built:<6} {description}")
        return 0
    if args.zoo_command == "build":
        if args.all == (args.name is not None):
            parser_error = "zoo build: give one NAME, or --all"
            raise ZooError(parser_error)
        if args.name is not None:
            print(zoo.build(args.name, force=args.force))
            return 0
        failed = []
        for entry in zoo.entries():
            try:
                print(zoo.build(entry.name, force=args.force))
            except USER_ERRORS as e:  # a missing optional package or download: report it, build the rest
                failed.append(entry.name)
                print(f"error: {entry.name}: {e}", file=sys.stderr)
        if failed:
            print(
                f"error: {len(failed)} of {len(zoo.entries())} not built: {', '.join(failed)}",
                file=sys.stderr,
            )
            return 2
        return 0
    if args.zoo_command == "push":
        from huggingface_hub.errors import HfHubHTTPError

        from .errors import USER_ERRORS, HubError

        try:
            url = zoo.push(args.name, args.repo, token=args.token, private=args.private)
        except USER_ERRORS:
            raise
        except (HfHubHTTPError, ValueError) as e:  # refused request (401/403/...), invalid repo id
            hint = " (pass --token or run `hf auth login`)" if "401" in str(e) else ""
            raise HubError(
                f"cannot push {args.name!r} to {args.repo!r}: {' '.join(str(e).split())}{hint}"
            ) from e
        print(url)
        return 0
    raise AssertionError(args.zoo_command)


def _space(args) -> int:
    """``hfmech space push NAME --repo ORG/NAME``: upload a Space folder (``spaces/NAME`` or a path)."""
    from huggingface_hub.errors import HfHubHTTPError

    from .errors import USER_ERRORS, HubError
    from .hub.spaces import push_space

    try:
        url = push_space(args.name, args.repo, token=args.token, private=args.private)
    except USER_ERRORS:
        raise
    except (HfHubHTTPError, ValueError) as e:  # refused request (401/403/...), invalid repo id
        hint = " (pass --token or run `hf auth login`)" if "401" in str(e) else ""
        raise HubError(
            f"cannot push Space {args.name!r} to {args.repo!r}: {' '.join(str(e).split())}{hint}"
        ) from e
    print(url)
    return 0


def _serve(args) -> int:
    from .serve import build_app, launch_kwargs

    app = build_app()
    app.launch(server_name=args.host, server_port=args.port, share=False, **launch_kwargs())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hfmech", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    z = sub.add_parser("zoo", help="list, build and push zoo models")
    zsub = z.add_subparsers(dest="zoo_command", required=True)
    zsub.add_parser("list", help="the zoo's models")
    zb = zsub.add_parser("build", help="build a Hub-ready folder from upstream weights; prints its path")
    zb.add_argument("name", nargs="?", default=None)
    zb.add_argument("--all", action="store_true", help="build every zoo entry (reports the ones that fail)")
    zb.add_argument("--force", action="store_true", help="rebuild even if cached")
    zp = zsub.add_parser("push", help="build and upload to the Hub")
    zp.add_argument("name")
    zp.add_argument("--repo", required=True, help="ORG/NAME")
    zp.add_argument("--token", default=None, help="Hub token (default: the logged-in one)")
    zp.add_argument("--private", action="store_true")
    z.set_defaults(func=_zoo)

    sp = sub.add_parser("space", help="upload a Space folder (spaces/NAME) to the Hub")
    spsub = sp.add_subparsers(dest="space_command", required=True)
    spp = spsub.add_parser(
        "push", help="check spaces/NAME (or a folder) is complete and upload it as a Space"
    )
    spp.add_argument("name", help="a folder under spaces/ (deepdream, style-transfer, ...) or a path")
    spp.add_argument("--repo", required=True, help="ORG/NAME")
    spp.add_argument("--token", default=None, help="Hub token (default: the logged-in one)")
    spp.add_argument("--private", action="store_true")
    sp.set_defaults(func=_space)

    for mechanism in MECHANISMS:
        mechanism.add_cli_commands(sub)

    s = sub.add_parser("serve", help="launch the Gradio app with one tab per mechanism")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    recipes = {command: m for m in MECHANISMS for command in m.recipes}
    if argv[:1] and argv[0] in recipes:
        # every argument, options included, belongs to the recipe's own parser (argparse.REMAINDER would stop at a
        # leading option such as --data)
        train_main = recipes[argv[0]].recipe_main(argv[0])
        args = argparse.Namespace(func=lambda a: train_main(a.train_args), train_args=argv[1:])
    else:
        args = build_parser().parse_args(argv)
    from .errors import USER_ERRORS

    try:
        return args.func(args)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # outputs are written atomically at the end: an interrupted run leaves no partial file behind
        print("\ninterrupted: nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
