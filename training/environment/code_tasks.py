"""Code-edit and multi-step tasks: write a small function in a repo with its own conventions.

The repo has ``utils.py`` (the helper, rendered in the repo's style), the target module
(which already imports the helper) and ``tests/test_<module>.py`` with the hidden tests.
Multi-step tasks add shell work in a given OS/shell: create the package directory first
("mkdir_write"), or run the tests after writing ("write_test").

Verification replays the actions in order: edits update the repo's files, a pytest run
executes the tests on the files as they are at that point, and the final state is run
against the test file (the hidden one, or the policy's edited version — editing the
tests is a hack that can fool the check, and is reported as one).
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field, replace

from training.environment.actions import Action, EditAction, ShellAction
from training.environment.functions import FUNCTIONS, FunctionSpec, hidden_test_source
from training.environment.intents import INTENTS_BY_NAME, pytest_targets
from training.environment.platforms import COMBOS, context_line
from training.environment.repos import HELPERS, REPOS, RepoProfile, convert_name, render_source
from training.environment.sandbox import TestRun, count_tests, run_tests
from training.environment.terminal import ShellResult, evaluate_shell
from training.environment.tools import repo_path, tool_outcome
from training.environment.types import Task, ToolCallOutcome

TEMPLATES: tuple[str, ...] = ("edit", "mkdir_write", "write_test")
MULTI_STEP_TEMPLATES: tuple[str, ...] = ("mkdir_write", "write_test")
PACKAGES: tuple[str, ...] = ("reports", "metrics", "core", "analysis", "tools")
# Code-edit tasks run no shell by design; any shell call is judged in this environment.
CODE_EDIT_PLATFORM = ("linux", "bash")
COMBOS_PER_MULTI_STEP = 3


@dataclass(frozen=True)
class CodeSpec:
    """A code or multi-step task and the hidden facts needed to verify it."""

    task: Task
    function: FunctionSpec
    repo: RepoProfile
    template: str
    package: str | None = None

    @property
    def module(self) -> str:
        return HELPERS[self.function.helper][0]

    @property
    def function_name(self) -> str:
        return convert_name(self.function.name, self.repo.naming)

    @property
    def helper_name(self) -> str:
        return convert_name(self.function.helper, self.repo.naming)

    @property
    def target_path(self) -> str:
        return f"{self.package}/{self.module}.py" if self.package else f"{self.module}.py"

    @property
    def tests_path(self) -> str:
        return f"tests/test_{self.module}.py"

    @property
    def signature(self) -> str:
        params = ", ".join(convert_name(param, self.repo.naming) for param in self.function.params)
        return f"{self.function_name}({params})"

    def render(self, canonical_source: str, *, repo: RepoProfile | None = None) -> str:
        """``canonical_source`` in ``repo``'s style (default: this task's repo), keeping the
        requested function name so the tests can import it."""
        style = repo or self.repo
        return render_source(canonical_source, naming=style.naming, indent=style.indent,
                             renames={self.function.name: self.function_name})

    def helper_source(self) -> str:
        return render_source(HELPERS[self.function.helper][1], naming=self.repo.naming, indent=self.repo.indent)

    def hidden_tests(self) -> str:
        return hidden_test_source(self.function, module=self.module, function_name=self.function_name)


# --- catalog ------------------------------------------------------------------------------

def build_code_specs() -> list[CodeSpec]:
    """Every function in every repo; (function, repo) pairs with (f + r) % 5 == 0 are eval."""
    specs: list[CodeSpec] = []
    for f_index, function in enumerate(FUNCTIONS):
        for r_index, repo in enumerate(REPOS):
            split = "eval" if (f_index + r_index) % 5 == 0 else "train"
            os, shell = CODE_EDIT_PLATFORM
            specs.append(_spec(f"code-{function.name}-{repo.name}", "code_edit", function, repo, "edit",
                               None, os, shell, split))
    return specs


def build_multi_step_specs() -> list[CodeSpec]:
    """Each template x function in three OS/shell combos (one Windows shell each)."""
    specs: list[CodeSpec] = []
    for t_index, template in enumerate(MULTI_STEP_TEMPLATES):
        for f_index, function in enumerate(FUNCTIONS):
            repo = REPOS[(f_index + t_index) % len(REPOS)]
            package = PACKAGES[f_index % len(PACKAGES)] if template == "mkdir_write" else None
            for k in range(COMBOS_PER_MULTI_STEP):
                os, shell = COMBOS[(f_index + t_index + 2 * k) % len(COMBOS)]
                split = "eval" if (f_index + 2 * t_index + k) % 5 == 0 else "train"
                task_id = f"multi-{template}-{function.name}-{os}-{shell}"
                specs.append(_spec(task_id, "multi_step", function, repo, template, package, os, shell, split))
    return specs


def _spec(task_id: str, kind: str, function: FunctionSpec, repo: RepoProfile, template: str,
          package: str | None, os: str, shell: str, split: str) -> CodeSpec:
    draft = CodeSpec(task=Task(task_id, kind, "", os, shell, "python", split), function=function, repo=repo,
                     template=template, package=package)
    task = Task(task_id=task_id, kind=kind, prompt=_prompt(draft), os=os, shell=shell, language="python", split=split)
    return CodeSpec(task=task, function=function, repo=repo, template=template, package=package)


def with_package(spec: CodeSpec, *, task_id: str, package: str) -> CodeSpec:
    """``spec`` under ``task_id`` with its package directory renamed, the prompt rebuilt to match."""
    draft = replace(spec, package=package)
    return replace(draft, task=replace(spec.task, task_id=task_id, prompt=_prompt(draft)))


def _prompt(spec: CodeSpec) -> str:
    repo = f"Repo {spec.repo.name}. utils.py:\n{spec.helper_source()}"
    imports = f"(it imports {spec.helper_name} from utils)"
    what = f"{spec.signature}: {spec.function.description}"
    if spec.template == "edit":
        return f"{repo}In {spec.module}.py {imports} write {what}"
    platform = context_line(spec.task.os, spec.task.shell)
    if spec.template == "mkdir_write":
        return f"{platform} {repo}Create the directory `{spec.package}`, then in {spec.target_path} {imports} write {what}"
    return f"{platform} {repo}In {spec.module}.py {imports} write {what} Then run {spec.tests_path} with pytest."


# --- verification -------------------------------------------------------------------------

@dataclass
class _Replay:
    """Mutable state while replaying one response (local to one verify call)."""

    spec: CodeSpec
    files: dict[str, str] = field(default_factory=dict)
    runs: dict[tuple[str | None, str], TestRun] = field(default_factory=dict)
    tool_calls: list[ToolCallOutcome] = field(default_factory=list)
    made_package: bool = False
    tested_after_edit: bool = False

    def tests_source(self) -> str:
        return self.files.get(self.spec.tests_path, self.spec.hidden_tests())

    def run(self) -> TestRun | None:
        """Run the tests on the current files (memoized); None when nothing could pass."""
        code = self.files.get(self.spec.target_path)
        tests = self.tests_source()
        if code is None and self.spec.tests_path not in self.files:
            return None
        key = (code, tests)
        if key not in self.runs:
            module = f"from utils import {self.spec.helper_name}\n\n{code or ''}"
            files = {"utils.py": self.spec.helper_source(), f"{self.spec.module}.py": module,
                     self.spec.tests_path: tests}
            self.runs[key] = run_tests(files=files, test_path=self.spec.tests_path)
        return self.runs[key]


@dataclass(frozen=True)
class CodeOutcome:
    tool_calls: tuple[ToolCallOutcome, ...]
    success: bool
    run: TestRun | None
    code: str | None
    tests_total: int


def verify_code(spec: CodeSpec, actions: tuple[Action, ...]) -> CodeOutcome:
    """Replay ``actions`` on the task's repo and judge the result (see module docstring)."""
    replay = _Replay(spec=spec)
    for action in actions:
        if isinstance(action, ShellAction):
            _replay_shell(replay, action.command)
        else:
            _replay_tool(replay, action)
    code = replay.files.get(spec.target_path)
    final = replay.run()
    passed = final is not None and final.all_passed
    success = passed and code is not None and _steps_done(replay)
    total = final.total if final is not None else count_tests(replay.tests_source())
    return CodeOutcome(tuple(replay.tool_calls), success, final, code, total)


def _steps_done(replay: _Replay) -> bool:
    template = replay.spec.template
    if template == "mkdir_write":
        return replay.made_package
    if template == "write_test":
        return replay.tested_after_edit
    return True


def _replay_tool(replay: _Replay, action: Action) -> None:
    outcome = tool_outcome(action, target_path=replay.spec.target_path)
    replay.tool_calls.append(outcome)
    if isinstance(action, EditAction) and outcome.ok and action.code is not None:
        path = repo_path(outcome.arguments) or replay.spec.target_path
        replay.files[path] = textwrap.dedent(action.code).strip("\n") + "\n"
        if path == replay.spec.target_path:
            replay.tested_after_edit = False


def _replay_shell(replay: _Replay, command: str) -> None:
    spec = replay.spec
    make_dir = INTENTS_BY_NAME["make_dir"] if spec.template == "mkdir_write" else None
    result = evaluate_shell(command, os=spec.task.os, shell=spec.task.shell, intent=make_dir,
                            params={"dir": spec.package or ""})
    replay.made_package = replay.made_package or (result.solved and result.outcome.ok)
    if result.outcome.ok and _runs_pytest(result):
        outcome = _pytest_outcome(command, replay.run())
        replay.tested_after_edit = replay.tested_after_edit or (outcome.ok and spec.target_path in replay.files)
        replay.tool_calls.append(outcome)
        return
    replay.tool_calls.append(result.outcome)


def _runs_pytest(result: ShellResult) -> bool:
    return any(
        pytest_targets(invocation) is not None
        for statement in result.check.statements
        for invocation in statement.invocations
    )


def _pytest_outcome(command: str, run: TestRun | None) -> ToolCallOutcome:
    """What ``pytest`` reports for the repo as it stands: exit 0 all passed, 1 failures,
    2 collection/syntax errors, 5 no tests; a hang is a timeout."""
    if run is not None and run.error_kind == "timeout":
        return ToolCallOutcome("shell", command, False, "timeout", None)
    if run is not None and run.all_passed:
        return ToolCallOutcome("shell", command, True, None, 0)
    if run is None or run.error_kind is not None or run.collect_error is not None:
        exit_code = 2
    else:
        exit_code = 5 if run.total == 0 else 1
    return ToolCallOutcome("shell", command, False, "nonzero_exit", exit_code)
