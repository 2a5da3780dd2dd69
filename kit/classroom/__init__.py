"""The class board: a workshop's self-checks as telemetry, live on the instructor's screen.

The instructor, in a terminal (the room's address: ``--host lan`` finds it)::

    python -m kit classroom --host lan

prints the room code and the line learners type. A learner, in a notebook (opt-in: nothing
is sent without it)::

    import kit.classroom
    kit.classroom.join("http://10.0.0.5:4318", room="K7QX2M", name="ada")

or, for every kernel, before Jupyter starts::

    KIT_CLASSROOM=http://10.0.0.5:4318,room=K7QX2M,name=ada jupyter lab

From then on each self-check of an exercise also sends **one OpenTelemetry log record**,
written inside a span of its own, so it carries trace context, exported over OTLP/HTTP:
the same pipeline the lessons build (providers, a batch processor, an OTLP exporter), with
providers of its own. It holds the exercise, ✓ or ✗, the ✗'s reason code, the attempt and
the seconds since the lesson started, under a pseudonym; never the learner's code, output,
messages or machine. Any OTLP endpoint takes it (a Collector too: the room code is just a
header).

The package, one job per module:

    record       what a record holds, the room header, KIT_CLASSROOM's format (both sides)
    learner      join(), joined() (for a with block), leave(), status(): the learner's providers
                 and exporters
    reasons      a short label for each ✗ reason code of kit.checks
    progress     learners × exercises from the records, bounded; the CSV
    board_page   the board in a browser: its page, its JSON, its CSV
    room         Room / open_room(): the kit's receiver with the room's gate and the board

``kit.checks`` never imports this package: the checks publish each verdict
(:mod:`kit.checks.verdicts`) and the learner's side listens.
"""

from kit.classroom.learner import current, join, joined, leave, status

__all__ = ["join", "joined", "leave", "status", "current", "open_room"]


def open_room(*args, **kwargs):
    """Start a class board in this process (:func:`kit.classroom.room.open_room`)."""
    from kit.classroom.room import open_room as start
    return start(*args, **kwargs)
