"""``python -m scaleplan`` and the ``scaleplan`` script."""

from scaleplan.startup import pause_gc


def main() -> None:
    pause_gc()  # before the CLI's imports; the root command resumes it (scaleplan.startup)
    from scaleplan.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
