"""The package's structure stays what DESIGN.md draws: folders are layers, imports only go
down, no import cycles (imports inside functions count), no private name used outside its
module, no module over 500 lines. Read from the source with ast, so it cannot drift."""

from helpers.architecture import SOURCE, cycles, imports, modules, private_uses, rank, upward

MAX_LINES = 500


def test_every_module_is_in_a_layer():
    for module in modules():
        rank(module)  # raises for a module in no layer of DESIGN.md


def test_no_import_cycles():
    assert cycles(imports(modules())) == []


def test_imports_only_go_down():
    assert upward(imports(modules())) == []


def test_engine_and_nn_import_no_front_end():
    graph = imports(modules())
    for module, targets in graph.items():
        if rank(module) <= 1:
            assert all(rank(t) <= 1 for t in targets), (module, targets)


def test_no_private_name_is_used_outside_its_module():
    assert private_uses(modules()) == []


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(SOURCE)): n for p in SOURCE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_checker_sees_a_cycle_and_an_upward_import():
    graph = {"dlprimer.nn.a": {"dlprimer.nn.b"}, "dlprimer.nn.b": {"dlprimer.nn.a"},
             "dlprimer.engine.x": {"dlprimer.cli"}, "dlprimer.cli": set()}
    assert cycles(graph) == [["dlprimer.nn.a", "dlprimer.nn.b"]]
    assert upward(graph) == [("dlprimer.engine.x", "dlprimer.cli")]
