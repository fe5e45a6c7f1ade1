"""Every ``scaleplan ...`` command line in the docs runs as written, or is skipped by name.

The commands are taken from the fenced ``bash``/``sh``/``shell``/``console`` blocks of
README.md and docs/*.md (not docs/benchmarks*), and run in the order they appear in each file
(later commands read what earlier ones wrote, e.g. ``out/llm/plan.yaml``), in-process, in a
temporary folder holding copies of the shipped inputs (``examples/``, ``catalogs/``,
``tests/data/``; ``/tmp/...`` paths are moved into it). Each must exit 0, or the code the doc
states for it (a ``$ echo $?`` line in a console block, or an entry of :data:`EXIT_CODES`
quoting the doc). Output a console block shows must be in the output (``...`` stands for text
left out); :data:`CLAIMS` holds what comments beside a command claim.

What cannot run here is listed in :data:`SKIP` (file, command prefix, reason), reviewed by hand:
a doc command that is neither runnable nor listed fails this test, and so does an entry that
no longer matches any command. Placeholders the docs use for the reader's own files
(``spec.yaml``, ``plan.yaml``, ``deploy/``) are filled from shipped inputs by :data:`SETUP`,
right before the first command that needs them.

Pipes: ``scaleplan ... | jq .a.b`` checks that stdout is JSON holding ``a.b`` (a pipe into any
other tool fails until check_pipe knows it); ``X | scaleplan ... -`` feeds the file
:data:`STDIN` names; ``> FILE`` writes stdout there.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [
    "README.md",
    *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")
            if not p.name.startswith("benchmarks")),
]
FENCES = {"bash", "sh", "shell", "console"}
SHIPPED = ("examples", "catalogs", "tests/data")
CPU_MEASURED = "examples/embedding-cpu-gpu/profile-cpu-measured.yaml"

R, CAT, CI, CLI, LLM, OBS, OPT, PROF, REND, SIM, SPEC, TUT = (
    "README.md", "docs/catalog-refresh.md", "docs/ci.md", "docs/cli.md", "docs/llm.md",
    "docs/observe.md", "docs/optimizer.md", "docs/profile.md", "docs/render.md",
    "docs/simulate.md", "docs/spec.md", "docs/tutorial.md",
)

# (doc file, command prefix, why it cannot run here). Reviewed: add an entry only for a
# command that needs what a test machine does not have, never for one that fails.
AWS = "needs AWS credentials for the EC2 and Price List APIs (test_aws_refresh.py: moto)"
EXAMPLES_EXTRA = "needs the [examples] extra (the MiniLM package, not in [dev]), minutes of CPU"
OWN_MODEL = "profiles the reader's own model file or package, which is not shipped"
ENDPOINT = "needs a running model server (test_profile_endpoint.py serves one)"
PROMETHEUS = "needs a Prometheus holding the service's history (test_observe.py runs the recipe)"
OBSERVED = "reads an Observed file, which only observe against a Prometheus writes"
SKIP: list[tuple[str, str, str]] = [
    (R, "scaleplan profile examples/models/minilm.py:factory", EXAMPLES_EXTRA),
    (R, "scaleplan profile model.onnx", OWN_MODEL),
    (R, "scaleplan profile http://127.0.0.1:8000/", ENDPOINT),
    (R, "scaleplan catalog refresh", AWS),
    (CAT, "scaleplan catalog refresh", AWS),
    (LLM, "scaleplan profile llm ./my-model/", "the reader's own config.json and measured profile"),
    (OBS, "scaleplan observe --prometheus http://127.0.0.1:9090", PROMETHEUS),
    (OBS, "scaleplan observe --prometheus http://127.0.0.1:19090", PROMETHEUS),
    (OBS, "scaleplan optimize tests/data/observe/spec.yaml --observed", OBSERVED),
    (OBS, "scaleplan optimize spec.yaml --observed", OBSERVED),
    (PROF, "scaleplan profile mymodel.py:factory", OWN_MODEL),
    (PROF, "scaleplan profile http://10.0.0.5:", ENDPOINT),
    (TUT, "scaleplan --install-completion", "edits the user's shell start-up files"),
    (TUT, "scaleplan profile examples/models/minilm.py:factory", EXAMPLES_EXTRA),
]

# (doc file, command prefix) -> (the exit code its doc states in prose, the doc's words).
EXIT_CODES: dict[tuple[str, str], tuple[int, str]] = {
    (CI, "scaleplan check deploy/chat-70b"): (1, "FAILED: 2 errors (1: findings, cli.md)"),
    (CI, "scaleplan check tests/data/check/pss/"): (1, "1 when one does (every `pss-*`"),
    (R, "scaleplan validate missing.yaml --json"): (3, '"invalid-input", exit 3'),
    (OBS, "scaleplan observe --prometheus http://127.0.0.1:9 "): (5, "Every failure exits **5**"),
    (SIM, "scaleplan simulate plan.yaml --lengths lognormal"): (1, "so it FAILS (exit 1)"),
    (SIM, "scaleplan simulate surge/plan.yaml --windows 3 --surge 4x@600+1500"): (
        1, "FAILS (exit 1): the new pod serves 1,110 s after KEDA asks"),
    (SPEC, "scaleplan validate broken.yaml"): (3, "exit code 3 if there is any"),
}


def broken(name: str) -> list[tuple[str, ...]]:
    """tests/data/specs/bad-five-problems.yaml as the docs show it: without its two comment
    lines (the docs' line numbers count from `apiVersion`), beside the profile it names."""
    src = "tests/data/specs/bad-five-problems.yaml"
    head = "".join((ROOT / src).read_text(encoding="utf-8").splitlines(keepends=True)[:2])
    good = ("copy", "tests/data/specs/good", "good")
    return [("copy", src, name), ("replace", name, head, ""), good]


DISCOUNT = "price_multiplier: 0.8\n"
EMBEDDING_SPEC = [
    ("copy", "examples/embedding-cpu-gpu/spec.yaml", "spec.yaml"),
    ("copy", "examples/embedding-cpu-gpu/profile.yaml", "profile.yaml"),
]
ARRIVALS = "# seconds from the start of the day\n" + "".join(
    f"{t / 10}\n" for t in range(0, 36000, 7)
)
REQUESTS = "timestamp,input_tokens,output_tokens\n" + "".join(
    f"{t},{256 + 64 * (t % 5)},{128 + 32 * (t % 3)}\n" for t in range(600)
)
FORMATS = "tests/data/profile_formats"
VLLM_DETAILED = f"{FORMATS}/vllm_benchmark_serving_llama33_70b_tp8_qps16_first20.json"
TP_ARG = "- --tensor-parallel-size\n        - '{}'"

# (doc file, command prefix) -> what to put in place before that command, standing in for the
# reader's own files: ("copy", from, to) within the working folder, ("run", "scaleplan ...")
# with exit 0, ("block", name): the doc's fenced block whose first line is `# name`,
# ("write", name, text), ("replace", file, old, new), ("set", YAML file, dotted key, YAML value).
SETUP: dict[tuple[str, str], list[tuple[str, ...]]] = {
    (R, "scaleplan profile estimate profile.yaml"): [("copy", CPU_MEASURED, "profile.yaml")],
    (R, "scaleplan validate chat.yaml"): [("block", "chat.yaml")],  # the shortest LLM spec
    (R, "scaleplan profile import vllm_bench_result.json"): [
        ("copy", f"{FORMATS}/vllm_bench_serve_v0.25.1.json", "vllm_bench_result.json")],
    (R, "scaleplan optimize spec.yaml --catalog my-aws.yaml"): [
        *EMBEDDING_SPEC, ("copy", "catalogs/aws.yaml", "my-aws.yaml")],  # what refresh writes
    (R, "scaleplan check manifests/ --plan plan.yaml"): [  # the whole flow's outputs, above
        ("copy", "out/llm/manifests", "manifests"), ("copy", "out/llm/plan.yaml", "plan.yaml")],
    (CAT, "scaleplan optimize spec.yaml --catalog my-aws.yaml"): [
        *EMBEDDING_SPEC, ("copy", "catalogs/aws.yaml", "my-aws.yaml")],
    (CI, "scaleplan check deploy/"): [
        ("run", "scaleplan render examples/llm-chat/plan.yaml --out deploy"),
        ("copy", "examples/llm-chat/plan.yaml", "plan.yaml")],
    (CI, "scaleplan check a.yaml b.yaml"): [
        ("copy", "deploy/deployment-chat-g6e-xlarge-od.yaml", "a.yaml"),
        ("copy", "deploy/service-chat-l40s-x1.yaml", "b.yaml")],  # the backend Service
    (CI, "scaleplan check -"): [
        ("run", "scaleplan render examples/llm-chat/plan.yaml -o overlays/prod --layout single")],
    (CI, "scaleplan check deploy/chat-70b"): [  # "change --tensor-parallel-size ... from 2 to 8"
        ("run", "scaleplan render examples/llm-70b-tp/plan.yaml --out deploy/chat-70b"),
        ("copy", "examples/llm-70b-tp/plan.yaml", "plan.yaml"),
        ("replace", "deploy/chat-70b/deployment-chat-70b-p5-48xlarge-od.yaml",
         TP_ARG.format(2), TP_ARG.format(8))],
    (CLI, "scaleplan validate spec.yaml"): [  # the broken spec, less three of its problems
        *broken("spec.yaml"),
        ("replace", "spec.yaml", "Demo_Service", "demo-service"),
        ("replace", "spec.yaml", "peak_rps: -1", "peak_rps: 10"),
        ("replace", "spec.yaml", "server:latest", "server:1.0")],
    (OBS, "scaleplan observe --prometheus http://127.0.0.1:9 "): [
        ("run", "scaleplan optimize tests/data/observe/spec.yaml --out out --no-alternatives")],
    (OBS, "scaleplan observe --prometheus $PROM"): [("block", "queries.yaml")],
    (OPT, "scaleplan optimize spec.yaml --catalog negotiated.yaml"): [
        *EMBEDDING_SPEC,
        ("copy", "catalogs/aws.yaml", "negotiated.yaml"),  # the AWS rows at a 20 % discount
        ("replace", "negotiated.yaml", "\nkind: Catalog\n", f"\nkind: Catalog\n{DISCOUNT}"),
    ],
    (OPT, "scaleplan import melange melange/config/example.json"): [  # a Mélange checkout
        ("copy", "tests/data/melange/example.json", "melange/config/example.json")],
    (OPT, "scaleplan import melange a100.json a40.json"): [
        ("copy", "tests/data/melange/simulator-llama2-7b-a100.json", "a100.json"),
        ("copy", "tests/data/melange/simulator-llama2-7b-a40.json", "a40.json")],
    (PROF, "scaleplan profile merge l4.yaml a10g.yaml a100.yaml"): [  # the Jobs' results
        ("run", f"scaleplan profile estimate {CPU_MEASURED} --accelerators {g} -o {g.lower()}.yaml")
        for g in ("L4", "A10G", "A100")],
    (REND, "scaleplan render plan.yaml --out deploy"): [  # "llm-chat-pool with args: [...]"
        ("copy", "examples/llm-chat-pool/plan.yaml", "plan.yaml"),
        ("set", "plan.yaml", "spec.kubernetes.args", "[--tensor-parallel-size, '2']")],
    (REND, "scaleplan validate trtllm-chat/spec.yaml"): [  # "copy examples/llm-chat ... set"
        ("copy", "examples/llm-chat", "trtllm-chat"),
        ("set", "trtllm-chat/spec.yaml", "model.engine", "trtllm"),
        ("set", "trtllm-chat/spec.yaml", "kubernetes.image",
         "nvcr.io/nvidia/tensorrt-llm/release:1.0.0")],
    (REND, "scaleplan check trtllm-chat/deploy/ --plan"): [  # "--max_batch_size 42 -> 16"
        ("replace", "trtllm-chat/deploy/deployment-chat-g6e-xlarge-od.yaml",
         "- --max_batch_size\n        - '42'", "- --max_batch_size\n        - '16'")],
    (SIM, "scaleplan simulate plan.yaml --fail node --json"): [
        ("copy", "examples/vision-daily/plan.yaml", "plan.yaml")],
    (SIM, "scaleplan simulate plan.yaml --trace arrivals.txt"): [
        ("write", "arrivals.txt", ARRIVALS)],
    (SIM, "scaleplan simulate plan.yaml --fail node --replace-after 300 --json"): [
        # its llm sections carry the step times: no profile needed
        ("copy", "examples/llm-chat/plan.yaml", "plan.yaml")],
    (SIM, "scaleplan simulate plan.yaml --trace requests.csv"): [
        ("write", "requests.csv", REQUESTS)],
    (SIM, "scaleplan simulate plan.yaml --trace vllm-result.json"): [
        ("copy", VLLM_DETAILED, "vllm-result.json")],
    (SPEC, "scaleplan validate spec.yaml"): [("copy", "tests/data/specs/good", ".")],
    (SPEC, "scaleplan validate broken.yaml"): broken("broken.yaml"),
    (TUT, "scaleplan profile estimate profile.yaml"): [("copy", CPU_MEASURED, "profile.yaml")],
    (TUT, "scaleplan validate spec.yaml"): [("block", "spec.yaml")],
}

# (doc file, command prefix) -> (working file fed to stdin where the doc pipes another tool
# in, why it stands for that tool's output).
STDIN: dict[tuple[str, str], tuple[str, str]] = {
    (CI, "scaleplan check -"): ("overlays/prod/manifests.yaml", "kustomize build: one stream"),
}

# (doc file, command prefix) -> text its output holds, for what a comment beside it claims.
CLAIMS: dict[tuple[str, str], tuple[str, ...]] = {
    (R, "scaleplan optimize out/melange/spec.yaml"): ("cost: $4.6800/h",),  # "$4.68/h"
    (R, "scaleplan validate chat.yaml"): ("planned from architecture llama-3.1-8b, no profile",),
    (R, "scaleplan optimize chat.yaml"): ("architecture-only estimates",),
    (OPT, "scaleplan optimize /tmp/mel/spec.yaml"): ("cost: $4.6800/h",),
    (REND, "scaleplan check deploy/chat"): ("passed: 0 errors, 0 warnings", "drift checked"),
    (REND, "scaleplan check out/pool/manifests"): ("passed: 0 errors, 0 warnings",),
    (SIM, "scaleplan simulate examples/llm-chat/plan.yaml"): ("LLM plan: simulated token",),
    (SIM, "scaleplan simulate surge/plan.yaml --surge 1.3x@600+900"): (
        "no pod added: the 3 replicas running, redundancy n+1 absorbed it",),
    (SIM, "scaleplan simulate surge/plan.yaml --windows 3 --surge 4x@600+1500"): (
        "the first serving at 1,755 s", "-> FAILS"),
}

# (doc file, command prefix) -> the repository file it writes, which it must reproduce byte
# for byte ("Checked on MiniLM (`examples/embedding-cpu-gpu/profile-gpu-estimated.yaml`)").
GPU_ESTIMATED = "examples/embedding-cpu-gpu/profile-gpu-estimated.yaml"
REPRODUCES: dict[tuple[str, str], str] = {
    (PROF, f"scaleplan profile estimate {CPU_MEASURED}"): GPU_ESTIMATED,
}

# $VARIABLES the docs leave to the reader.
VARIABLES = {"$PROM": "http://127.0.0.1:9090"}


@dataclass
class DocCommand:
    file: str
    line: int
    text: str  # the scaleplan command, as written (continuations joined, no comment)
    argv: list[str]
    stdin_from: list[str] | None = None  # the command piping into it
    pipe_to: list[str] | None = None
    redirect: str | None = None
    exit_code: int | None = None  # stated with `$ echo $?` in a console block
    shown: list[str] = field(default_factory=list)  # the output a console block shows

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text}"


def fenced_blocks(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number of the first body line, language, body lines) of each fenced block."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, lang, body, start = m.group(1), m.group(2), [], i + 2
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        blocks.append((start, lang, body))
        i += 1
    return blocks


def logical_lines(start: int, lang: str, body: list[str]) -> list[tuple[int, str, list[str]]]:
    """(line, command, output lines after it) of a block; a console block with `$ ` prompts
    has commands only on those lines."""
    prompts = lang == "console"
    if prompts and not any(b.startswith("$ ") for b in body):
        # output only; a command here would escape this test
        bad = [b for b in body if re.match(r"^([A-Z_][A-Z0-9_]*=\S*\s+)*scaleplan\s", b)]
        assert not bad, f"line {start}: a console block without `$ ` prompts holds {bad[0]!r}"
        return []
    out: list[tuple[int, str, list[str]]] = []
    i = 0
    while i < len(body):
        raw, lineno = body[i], start + i
        i += 1
        if prompts and not raw.startswith("$ "):
            if out:
                out[-1][2].append(raw)
            continue
        cmd = raw[2:] if prompts else raw
        while cmd.rstrip().endswith("\\") and i < len(body):
            cmd = cmd.rstrip()[:-1] + " " + body[i].strip()
            i += 1
        out.append((lineno, cmd.strip(), []))
    return out


def split_shell(cmd: str) -> list[list[list[str]]]:
    """A command line as a list of pipelines (split at ``&&``, ``;``, ``&``), each a list of
    commands (split at ``|``), each a list of words; comments dropped."""
    lex = shlex.shlex(cmd, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    pipelines: list[list[list[str]]] = [[[]]]
    for tok in lex:
        if tok in {"&&", ";", "&", "||"}:
            pipelines.append([[]])
        elif tok == "|":
            pipelines[-1].append([])
        else:
            pipelines[-1][-1].append(tok)
    return [[c for c in p if c] for p in pipelines if any(p)]


def doc_commands(doc: str) -> list[DocCommand]:
    found: list[DocCommand] = []
    for start, lang, body in fenced_blocks((ROOT / doc).read_text(encoding="utf-8")):
        if lang not in FENCES:
            continue
        for lineno, line, output in logical_lines(start, lang, body):
            if line.startswith("#") or not line:
                continue
            if found and found[-1].file == doc and re.fullmatch(r"echo \$\?", line):
                found[-1].exit_code = int(output[0])
                continue
            for pipeline in split_shell(line):
                for k, words in enumerate(pipeline):
                    env = 0
                    while env < len(words) and re.match(r"^[A-Z_][A-Z0-9_]*=", words[env]):
                        env += 1
                    if words[env:env + 1] != ["scaleplan"]:
                        continue
                    words = words[env:]
                    redirect = None
                    if ">" in words:
                        at = words.index(">")
                        words, redirect = words[:at], words[at + 1]
                    text = " ".join(words)
                    found.append(DocCommand(
                        doc, lineno, text, words[1:],
                        stdin_from=pipeline[k - 1] if k else None,
                        pipe_to=pipeline[k + 1] if k + 1 < len(pipeline) else None,
                        redirect=redirect,
                        shown=[o for o in output if o.strip()],
                    ))
    return found


def lookup(table: dict, cmd: DocCommand):  # type: ignore[no-untyped-def,type-arg]
    """The entry of `table` for `cmd`: the longest prefix of its text in its file."""
    hits = [(len(p), v) for (d, p), v in table.items() if d == cmd.file and cmd.text.startswith(p)]
    return max(hits, key=lambda h: h[0])[1] if hits else None


def skip_reason(cmd: DocCommand) -> str | None:
    for doc, prefix, reason in SKIP:
        if doc == cmd.file and cmd.text.startswith(prefix):
            return reason
    return None


def working_copy(tmp: Path) -> Path:
    for rel in SHIPPED:
        shutil.copytree(ROOT / rel, tmp / rel, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp


def json_path(doc: object, path: str) -> object:
    for key in [k for k in path.split(".") if k]:
        assert isinstance(doc, dict) and key in doc, f"no {key!r} in {doc!r:.300}"
        doc = doc[key]
    return doc


def check_pipe(cmd: DocCommand, stdout: str) -> None:
    assert cmd.pipe_to is not None
    tool = cmd.pipe_to[0]
    if tool == "jq":
        value = json_path(json.loads(stdout), cmd.pipe_to[1])
        assert value is not None, f"{cmd}: jq {cmd.pipe_to[1]} reads null"
    else:
        raise AssertionError(f"{cmd}: no check for a pipe into {tool!r}; add one to check_pipe")


def doc_block(doc: str, name: str) -> str:
    """The fenced block of `doc` whose first line is `# name`, without that line."""
    for _, _, body in fenced_blocks((ROOT / doc).read_text(encoding="utf-8")):
        if body and body[0].strip() == f"# {name}":
            return "\n".join(body[1:]) + "\n"
    raise AssertionError(f"{doc}: no fenced block starts with '# {name}'")


def check_shown(cmd: DocCommand, output: str) -> None:
    """Each line the doc shows is in the output, in the order shown; `...` stands for text
    left out."""
    if not cmd.shown:
        return
    said, at = " ".join(output.split()), 0
    for line in cmd.shown:
        for part in (" ".join(p.split()) for p in line.split("...")):
            found = said.find(part, at)
            where = "is not in" if part not in said else "comes earlier than the doc shows it in"
            assert found >= 0, f"{cmd}\nshows {line!r}, but {part!r} {where}:\n{output[-3000:]}"
            at = found + len(part)


def run_setup(cli, cmd: DocCommand, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    for kind, *args in lookup(SETUP, cmd) or []:
        if kind == "run":
            cli(shlex.split(args[0])[1:], exit_code=0)
            continue
        dst = tmp / args[-1] if kind == "copy" else tmp / args[0]
        dst.parent.mkdir(parents=True, exist_ok=True)
        if kind == "copy" and (tmp / args[0]).is_dir():
            shutil.copytree(tmp / args[0], dst, dirs_exist_ok=True)
        elif kind == "copy":
            shutil.copyfile(tmp / args[0], dst)
        elif kind == "block":
            dst.write_text(doc_block(cmd.file, args[0]), encoding="utf-8")
        elif kind == "write":
            dst.write_text(args[1], encoding="utf-8")
        elif kind == "replace":
            text = dst.read_text(encoding="utf-8")
            assert args[1] in text, f"{cmd}: setup: {args[1]!r} not in {args[0]}"
            dst.write_text(text.replace(args[1], args[2], 1), encoding="utf-8")
        else:
            assert kind == "set", kind
            doc = yaml.safe_load(dst.read_text(encoding="utf-8"))
            *parents, last = args[1].split(".")
            node = doc
            for key in parents:
                node = node[key]
            node[last] = yaml.safe_load(args[2])
            dst.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def argv_here(cmd: DocCommand, tmp: Path) -> list[str]:
    """The command's words with the reader's $VARIABLES filled in and /tmp/ moved into the
    working folder (a test writes nothing outside it)."""
    out = []
    for word in cmd.argv:
        word = VARIABLES.get(word, word)
        out.append(str(tmp / "tmp" / word[5:]) if word.startswith("/tmp/") else word)
    return out


def run_command(cli, cmd: DocCommand, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    stdin = None
    if cmd.stdin_from is not None:
        src = lookup(STDIN, cmd)
        assert src is not None, f"{cmd}: {cmd.stdin_from[0]} pipes into it; add it to STDIN"
        stdin = (tmp / src[0]).read_text(encoding="utf-8")
    stated = lookup(EXIT_CODES, cmd)
    expected = cmd.exit_code if cmd.exit_code is not None else stated[0] if stated else 0
    res = cli(argv_here(cmd, tmp), exit_code=None, input=stdin)
    assert res.exit_code == expected, (
        f"{cmd}\nexited {res.exit_code}, the doc expects {expected}\n"
        f"--- stdout ---\n{res.stdout[-3000:]}\n--- stderr ---\n{res.stderr[-3000:]}"
    )
    check_shown(cmd, res.stdout + "\n" + res.stderr)
    for text in lookup(CLAIMS, cmd) or ():
        assert text in res.stdout + res.stderr, f"{cmd}\nclaims {text!r}:\n{res.stdout[-3000:]}"
    if written := lookup(REPRODUCES, cmd):
        same = (tmp / written).read_bytes() == (ROOT / written).read_bytes()
        assert same, f"{cmd}: the {written} it wrote differs from the repository's"
    if cmd.redirect:
        (tmp / cmd.redirect).parent.mkdir(parents=True, exist_ok=True)
        (tmp / cmd.redirect).write_text(res.stdout, encoding="utf-8")
        if cmd.redirect.endswith(".json"):
            json.loads(res.stdout)
    if cmd.pipe_to:
        check_pipe(cmd, res.stdout)


@pytest.mark.parametrize("doc", DOC_FILES)
def test_doc_commands_run(doc: str, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cmds = doc_commands(doc)
    work = working_copy(tmp_path)
    monkeypatch.chdir(work)
    for cmd in cmds:
        if skip_reason(cmd):
            continue
        run_setup(cli, cmd, work)
        run_command(cli, cmd, work)


def test_every_skip_and_table_entry_matches_a_command() -> None:
    cmds = [c for d in DOC_FILES for c in doc_commands(d)]
    keys = [(d, p) for d, p, _ in SKIP] + [*EXIT_CODES, *SETUP, *STDIN, *CLAIMS, *REPRODUCES]
    for doc, prefix in keys:
        assert any(c.file == doc and c.text.startswith(prefix) for c in cmds), (
            f"{doc}: no command starts with {prefix!r}; remove or update the entry"
        )


@pytest.mark.parametrize("doc", DOC_FILES)
def test_command_lines_sit_in_tagged_blocks(doc: str) -> None:
    """A command line in an untagged fence would escape this test: tag it bash (or console with
    `$ ` prompts), or `text` for a synopsis with placeholders."""
    for start, lang, body in fenced_blocks((ROOT / doc).read_text(encoding="utf-8")):
        bad = [b for b in body if re.match(r"^\s*(\$ )?scaleplan\s", b)]
        assert lang or not bad, f"{doc}:{start}: an untagged block holds {bad[0]!r}"
