"""scaleplan.errors.failure_of: the typed error (and so the exit code) of an exception that is
not a ScaleplanError, decided outside the CLI, which only prints it and exits."""

from __future__ import annotations

import errno

from scaleplan.errors import ExitCode, ExternalError, Interrupted, WriteFailed, failure_of


def _caused_by(cause: BaseException, exc: Exception) -> Exception:
    try:
        try:
            raise cause
        except BaseException:
            raise exc  # noqa: B904 (implicit __context__, as an import cut short by Ctrl-C)
    except Exception as err:
        return err


def test_ctrl_c_is_an_interrupt_even_when_it_surfaced_as_another_error() -> None:
    for exc in (KeyboardInterrupt(), _caused_by(KeyboardInterrupt(), AttributeError("half"))):
        err = failure_of(exc)
        assert isinstance(err, Interrupted) and err.exit_code == ExitCode.INTERRUPTED == 130
        assert err.message == "interrupted"


def test_a_write_the_device_refused_is_an_external_fault() -> None:
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
        err = failure_of(OSError(code, "No space left on device"))
        assert isinstance(err, WriteFailed) and isinstance(err, ExternalError)
        assert err.exit_code == ExitCode.EXTERNAL == 5
        assert err.message == "a write failed: No space left on device"
        assert "free space" in err.hint


def test_anything_else_is_an_internal_error() -> None:
    for exc in (RuntimeError("boom"), OSError(errno.EACCES, "denied"),
                _caused_by(ValueError("x"), TypeError("boom"))):
        err = failure_of(exc)
        assert type(err).__name__ == "ScaleplanError" and err.exit_code == ExitCode.INTERNAL == 70
        assert err.message == f"internal error: {type(exc).__name__}: {exc}"
        assert "SCALEPLAN_DEBUG=1" in err.hint
