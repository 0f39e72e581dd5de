"""The plugin loader against inline plugins and real, installed throwaway distributions.

Discovery always gets ``path=[<tmp folder>]`` so plugins installed in the developer's
environment never leak in.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.metadata
import importlib.util
import logging
import shutil
import sys
import types

import pytest

from tracebloc_ingestor import hookimpl
from tracebloc_ingestor.categories import CategorySpec
from tracebloc_ingestor.loader import (
    BrokenPluginError,
    DuplicatePluginError,
    PluginError,
    PluginInfo,
    UnknownPluginError,
    category_table,
    check_hooks,
    installed_plugins,
    load_plugins,
    new_plugin_manager,
    register_builtin,
)
from tracebloc_ingestor.testing.distributions import install_throwaway_distribution

PREFIX = "tbt_"  # every throwaway module name starts with it

GOOD_SOURCE = '''
from tracebloc_ingestor import hookimpl
from tracebloc_ingestor.categories import CategorySpec

@hookimpl
def tb_categories():
    return [CategorySpec("good_module", data_format="tabular")]

class Plugin:
    @hookimpl
    def tb_categories(self):
        return [CategorySpec("good_class", data_format="text")]

class Pair:
    instances = 0
    def __init__(self):
        Pair.instances += 1
    @hookimpl
    def tb_categories(self):
        return [CategorySpec("pair_a", data_format="tabular"),
                CategorySpec("pair_b", data_format="tabular", label_kind="regression")]

class Typo:
    @hookimpl
    def tb_validat(self, ctx):
        return None

class Failing:
    def __init__(self):
        raise ValueError("cannot start")
'''


def _category_source(category: str) -> str:
    return f'''
from tracebloc_ingestor import hookimpl
from tracebloc_ingestor.categories import CategorySpec

class Plugin:
    @hookimpl
    def tb_categories(self):
        return [CategorySpec({category!r}, data_format="image")]
'''


def _poison_source(module: str) -> str:
    return f"raise RuntimeError('{module} must never be imported')\n"


# (dist, version, module, source, entry points)
CATALOG = [
    (
        "tb-test-good",
        "1.0",
        "tbt_good",
        GOOD_SOURCE,
        {
            "good_module": "tbt_good",
            "good_class": "tbt_good:Plugin",
            "pair_a": "tbt_good:Pair",
            "pair_b": "tbt_good:Pair",
            "typo": "tbt_good:Typo",
            "failing": "tbt_good:Failing",
            "missing_attr": "tbt_good:Nope",
        },
    ),
    ("tb-test-poison", "2.0", "tbt_poison", _poison_source("tbt_poison"), {"poison": "tbt_poison:Plugin"}),
    ("tb-test-broken", "0.1", "tbt_broken", "import tbt_not_installed_anywhere\n", {"broken": "tbt_broken:Plugin"}),
    ("tb-test-clash-a", "1.0", "tbt_clash_a", _category_source("shared_category"), {"clash_a": "tbt_clash_a:Plugin"}),
    ("tb-test-clash-b", "3.1", "tbt_clash_b", _category_source("shared_category"), {"clash_b": "tbt_clash_b:Plugin"}),
    ("tb-test-dup-a", "1.0", "tbt_dup_a", _poison_source("tbt_dup_a"), {"dup": "tbt_dup_a:Plugin"}),
    ("tb-test-dup-b", "1.5", "tbt_dup_b", _poison_source("tbt_dup_b"), {"dup": "tbt_dup_b:Plugin"}),
]


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory):
    """One folder with every catalog distribution installed by a real installer."""
    target = tmp_path_factory.mktemp("catalog")
    for dist, version, module, source, eps in CATALOG:
        install_throwaway_distribution(
            target, dist_name=dist, version=version, module_name=module, module_source=source, entry_points=eps
        )
    return target


@pytest.fixture(autouse=True)
def forget_throwaway_modules():
    """Drop throwaway modules from sys.modules before and after each test."""

    def forget():
        for name in [n for n in sys.modules if n.startswith(PREFIX)]:
            del sys.modules[name]

    forget()
    yield
    forget()


@pytest.fixture
def catalog(catalog_dir, monkeypatch):
    monkeypatch.syspath_prepend(str(catalog_dir))
    return [str(catalog_dir)]


@pytest.fixture
def pm():
    return new_plugin_manager()


def _imported(module: str) -> bool:
    return module in sys.modules


# -- discovery -----------------------------------------------------------------------


def test_installed_plugins_reads_metadata_without_importing(catalog):
    infos = installed_plugins(path=catalog)

    assert [(i.name, i.distribution) for i in infos] == [
        ("broken", "tb-test-broken"),
        ("clash_a", "tb-test-clash-a"),
        ("clash_b", "tb-test-clash-b"),
        ("dup", "tb-test-dup-a"),
        ("dup", "tb-test-dup-b"),
        ("failing", "tb-test-good"),
        ("good_class", "tb-test-good"),
        ("good_module", "tb-test-good"),
        ("missing_attr", "tb-test-good"),
        ("pair_a", "tb-test-good"),
        ("pair_b", "tb-test-good"),
        ("poison", "tb-test-poison"),
        ("typo", "tb-test-good"),
    ]
    assert PluginInfo("poison", "tb-test-poison", "2.0", "tbt_poison:Plugin") in infos
    assert not [m for m in sys.modules if m.startswith(PREFIX)]
    with pytest.raises(RuntimeError, match="must never be imported"):
        importlib.import_module("tbt_poison")


def test_installed_plugins_defaults_to_sys_path(catalog):
    infos = installed_plugins()
    assert PluginInfo("good_class", "tb-test-good", "1.0", "tbt_good:Plugin") in infos
    assert not _imported("tbt_poison")


def test_installed_plugins_of_empty_folder_is_empty(tmp_path):
    assert installed_plugins(path=[str(tmp_path)]) == []


def test_unreadable_metadata_is_skipped_with_a_warning(tmp_path, monkeypatch, caplog):
    install_throwaway_distribution(
        tmp_path, dist_name="tb-test-fine", version="1.0", module_name="tbt_fine",
        module_source=_category_source("fine"), entry_points={"fine": "tbt_fine:Plugin"},
    )  # fmt: skip
    no_metadata = tmp_path / "tb_test_nameless-1.0.dist-info"
    no_metadata.mkdir()
    (no_metadata / "entry_points.txt").write_text("[tracebloc_ingestor]\nnameless = tbt_nameless:Plugin\n")
    bad_entry_points = tmp_path / "tb_test_garbled-1.0.dist-info"
    bad_entry_points.mkdir()
    (bad_entry_points / "METADATA").write_text("Metadata-Version: 2.1\nName: tb-test-garbled\nVersion: 1.0\n")
    (bad_entry_points / "entry_points.txt").write_text("[tracebloc_ingestor]\nthis line has no equals sign\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    with caplog.at_level(logging.WARNING, logger="tracebloc_ingestor.loader"):
        infos = installed_plugins(path=[str(tmp_path)])

    assert [i.name for i in infos] == ["fine"]
    warnings = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "tb_test_nameless-1.0.dist-info" in warnings
    assert "tb_test_garbled-1.0.dist-info" in warnings
    # ... and an unrelated broken distribution never breaks loading another plugin.
    pm = new_plugin_manager()
    assert [i.name for i in load_plugins(pm, ["fine"], path=[str(tmp_path)])] == ["fine"]


def test_first_distribution_of_a_name_on_the_path_shadows_later_ones(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    for target, version, category in ((first, "2.0", "new"), (second, "1.0", "old")):
        install_throwaway_distribution(
            target, dist_name="tb-test-shadow", version=version, module_name="tbt_shadow",
            module_source=_category_source(category), entry_points={"shadow": "tbt_shadow:Plugin"},
        )  # fmt: skip
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))

    assert installed_plugins(path=[str(first), str(second)]) == [
        PluginInfo("shadow", "tb-test-shadow", "2.0", "tbt_shadow:Plugin")
    ]
    pm = new_plugin_manager()
    load_plugins(pm, ["shadow"], path=[str(first), str(second)])
    assert list(category_table(pm)) == ["new"]


# -- loading -------------------------------------------------------------------------


def test_load_imports_only_the_named_entry_point(catalog, pm):
    loaded = load_plugins(pm, ["good_class"], path=catalog)

    assert loaded == [PluginInfo("good_class", "tb-test-good", "1.0", "tbt_good:Plugin")]
    assert _imported("tbt_good")
    assert [m for m in sys.modules if m.startswith(PREFIX)] == ["tbt_good"]
    # The unselected plugins would have failed the load had they been imported.
    with pytest.raises(RuntimeError, match="must never be imported"):
        importlib.import_module("tbt_poison")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("tbt_broken")


def test_class_entry_point_is_instantiated_and_named_after_its_distribution(catalog, pm):
    load_plugins(pm, ["good_class"], path=catalog)

    plugin = pm.get_plugin("tb-test-good:good_class")
    assert plugin is not None
    assert not isinstance(plugin, type)
    assert type(plugin).__name__ == "Plugin"
    assert type(plugin).__module__ == "tbt_good"
    assert category_table(pm) == {
        "good_class": (CategorySpec("good_class", data_format="text"), "tb-test-good"),
    }


def test_module_entry_point_is_registered_as_is(catalog, pm):
    load_plugins(pm, ["good_module"], path=catalog)

    plugin = pm.get_plugin("tb-test-good:good_module")
    assert isinstance(plugin, types.ModuleType)
    assert plugin is sys.modules["tbt_good"]
    assert list(category_table(pm)) == ["good_module"]


def test_two_entry_points_of_one_class_make_one_plugin(catalog, pm):
    loaded = load_plugins(pm, ["pair_a", "pair_b", "pair_a"], path=catalog)

    assert [i.name for i in loaded] == ["pair_a", "pair_b"]
    assert sys.modules["tbt_good"].Pair.instances == 1
    table = category_table(pm)
    assert {name: provider for name, (_, provider) in table.items()} == {
        "pair_a": "tb-test-good",
        "pair_b": "tb-test-good",
    }
    # Loading again is a no-op, not a second registration.
    load_plugins(pm, ["pair_b"], path=catalog)
    assert sys.modules["tbt_good"].Pair.instances == 1
    assert len(pm.get_plugins()) == 1


def test_unknown_name_lists_installed_plugins(catalog, pm):
    with pytest.raises(UnknownPluginError) as err:
        load_plugins(pm, ["tabular_classification"], path=catalog)

    message = str(err.value)
    assert message.startswith("no plugin named 'tabular_classification'; installed: ")
    assert "good_class (tb-test-good 1.0)" in message
    assert "poison (tb-test-poison 2.0)" in message
    assert "dup (tb-test-dup-a 1.0), dup (tb-test-dup-b 1.5)" in message
    assert not [m for m in sys.modules if m.startswith(PREFIX)]


def test_unknown_name_with_nothing_installed(tmp_path, pm):
    with pytest.raises(UnknownPluginError, match=r"^no plugin named 'x'; none installed\. .*pip install tracebloc-ingestor-<name>"):
        load_plugins(pm, ["x"], path=[str(tmp_path)])


def test_unknown_name_suggests_the_nearest_installed_one(catalog, pm):
    with pytest.raises(UnknownPluginError, match=r"did you mean 'good_class'"):
        load_plugins(pm, ["good_clas"], path=catalog)


def test_selected_plugin_failing_to_import_fails_fast_naming_it(catalog, pm):
    with pytest.raises(BrokenPluginError) as err:
        load_plugins(pm, ["broken", "good_class"], path=catalog)

    message = str(err.value)
    assert "'broken'" in message
    assert "tb-test-broken 0.1" in message
    assert "tbt_broken:Plugin" in message
    assert "ModuleNotFoundError" in message and "tbt_not_installed_anywhere" in message
    assert isinstance(err.value.__cause__, ImportError)
    # Fail fast: the plugin after the broken one was not touched.
    assert not _imported("tbt_good")
    assert pm.get_plugins() == set()


def test_class_failing_to_instantiate_is_broken(catalog, pm):
    with pytest.raises(BrokenPluginError, match=r"'failing'.*tb-test-good 1\.0.*ValueError: cannot start") as err:
        load_plugins(pm, ["failing"], path=catalog)
    assert isinstance(err.value.__cause__, ValueError)


def test_entry_point_naming_a_missing_attribute_is_broken(catalog, pm):
    with pytest.raises(BrokenPluginError, match=r"'missing_attr'.*tbt_good:Nope.*AttributeError") as err:
        load_plugins(pm, ["missing_attr"], path=catalog)
    assert isinstance(err.value.__cause__, AttributeError)


def test_two_distributions_claiming_one_entry_point_name(catalog, pm):
    with pytest.raises(DuplicatePluginError) as err:
        load_plugins(pm, ["dup"], path=catalog)

    message = str(err.value)
    assert "'dup'" in message
    assert "tb-test-dup-a 1.0" in message and "tb-test-dup-b 1.5" in message
    # Both modules raise on import; neither was imported before the conflict was found.
    assert not _imported("tbt_dup_a") and not _imported("tbt_dup_b")


# -- categories ------------------------------------------------------------------------


def test_two_distributions_declaring_one_category(catalog, pm):
    load_plugins(pm, ["clash_a", "clash_b"], path=catalog)

    with pytest.raises(DuplicatePluginError) as err:
        category_table(pm)
    message = str(err.value)
    assert "'shared_category'" in message
    assert "tb-test-clash-a" in message and "tb-test-clash-b" in message


class _Images:
    @hookimpl
    def tb_categories(self):
        return [CategorySpec("image_classification", data_format="image", file_bearing=True)]


class _OtherImages:
    @hookimpl
    def tb_categories(self):
        return (CategorySpec("image_classification", data_format="image"),)


class _ExtraValidator:
    """Adds behaviour only: declares no category."""

    @hookimpl
    def tb_categories(self):
        return None

    @hookimpl
    def tb_validate(self, batch):
        return []


def test_inline_category_table_names_in_process_providers(pm):
    register_builtin(pm, _Images(), "images")
    register_builtin(pm, _ExtraValidator(), "extra-validator")

    assert category_table(pm) == {
        "image_classification": (
            CategorySpec("image_classification", data_format="image", file_bearing=True),
            "images",
        )
    }


def test_inline_plugins_declaring_one_category(pm):
    register_builtin(pm, _Images(), "first-images")
    register_builtin(pm, _OtherImages(), "second-images")

    with pytest.raises(DuplicatePluginError) as err:
        category_table(pm)
    message = str(err.value)
    assert "'image_classification'" in message
    assert "first-images" in message and "second-images" in message


def test_category_table_rejects_what_is_not_a_category_spec(pm):
    class Sloppy:
        @hookimpl
        def tb_categories(self):
            return ["tabular_classification"]

    register_builtin(pm, Sloppy(), "sloppy")
    with pytest.raises(PluginError, match=r"'sloppy'.*returned a str, expected CategorySpec"):
        category_table(pm)


def test_category_table_names_a_plugin_whose_declaration_raises(pm):
    class Crashing:
        @hookimpl
        def tb_categories(self):
            raise KeyError("oops")

    register_builtin(pm, Crashing(), "crashing")
    with pytest.raises(BrokenPluginError, match=r"'crashing'.*tb_categories.*KeyError"):
        category_table(pm)


# -- hook checks and registration ------------------------------------------------------


class _Misspelled:
    @hookimpl
    def tb_validat(self, ctx):
        return None


class _Optional:
    @hookimpl(optionalhook=True)
    def tb_future_hook(self, ctx):
        return None


def test_inline_misspelled_hook_fails_check_hooks(pm):
    register_builtin(pm, _Images(), "images")
    check_hooks(pm)  # all good so far
    register_builtin(pm, _Misspelled(), "my-ingestor")

    with pytest.raises(PluginError) as err:
        check_hooks(pm)
    message = str(err.value)
    assert "'my-ingestor'" in message
    assert "unknown hook 'tb_validat'" in message
    assert "did you mean 'tb_validate'" in message


def test_hooks_of_1_0_that_became_category_stages_say_so(pm):
    class Old:
        @hookimpl
        def tb_discover(self, ctx):
            return None

    register_builtin(pm, Old(), "old-style")
    with pytest.raises(PluginError, match=r"unknown hook 'tb_discover' \(discovering is a stage of the category now"):
        check_hooks(pm)


def test_optional_hook_without_spec_passes_check_hooks(pm):
    register_builtin(pm, _Optional(), "forward-compatible")
    check_hooks(pm)


def test_installed_misspelled_hook_fails_check_hooks_naming_its_distribution(catalog, pm):
    load_plugins(pm, ["typo"], path=catalog)

    with pytest.raises(PluginError, match=r"'tb-test-good:typo' \(tb-test-good\) implements unknown hook 'tb_validat'"):
        check_hooks(pm)


def test_hookimpl_with_an_argument_the_spec_lacks_is_rejected_at_registration(pm):
    class WrongArgs:
        @hookimpl
        def tb_validate(self, ctx, batch, rows):
            return None

    with pytest.raises(BrokenPluginError, match=r"'wrong-args'.*rows"):
        register_builtin(pm, WrongArgs(), "wrong-args")


def test_register_builtin_refuses_a_taken_name(pm):
    register_builtin(pm, _Images(), "images")
    with pytest.raises(PluginError, match="'images'.*already in use"):
        register_builtin(pm, _OtherImages(), "images")


def test_blocked_plugin_is_not_imported(catalog, pm):
    pm.set_blocked("tb-test-good:good_class")
    assert load_plugins(pm, ["good_class"], path=catalog) == []
    assert not _imported("tbt_good")


def test_each_manager_starts_empty_with_the_host_specs():
    first, second = new_plugin_manager(), new_plugin_manager()
    register_builtin(first, _Images(), "images")

    assert second.get_plugins() == set()
    assert second.project_name == "tracebloc_ingestor"
    for hook in ("tb_categories", "tb_options", "tb_start", "tb_validate", "tb_transform", "tb_load", "tb_describe", "tb_finish"):
        assert getattr(second.hook, hook).has_spec()


# -- the throwaway-distribution helper ------------------------------------------------


def _available(installer: str) -> bool:
    if installer == "pip":
        return importlib.util.find_spec("pip") is not None
    if installer == "uv":
        return shutil.which("uv") is not None
    return True


@pytest.mark.parametrize("installer", ["pip", "uv", "unzip"])
def test_throwaway_distribution_installs_a_valid_wheel(installer, tmp_path, monkeypatch):
    if not _available(installer):
        pytest.skip(f"{installer} is not available in this environment")
    target = install_throwaway_distribution(
        tmp_path / "site", dist_name="tb-test.Helper", version="0.3", module_name="tbt_helper.sub.mod",
        module_source="VALUE = 42\n", entry_points={"helper": "tbt_helper.sub.mod:VALUE"},
        installer=installer,
    )  # fmt: skip

    (dist,) = importlib.metadata.distributions(path=[str(target)])
    assert dist.metadata["Name"] == "tb-test.Helper"
    assert dist.version == "0.3"
    assert [(ep.group, ep.name, ep.value) for ep in dist.entry_points] == [
        ("tracebloc_ingestor", "helper", "tbt_helper.sub.mod:VALUE")
    ]
    # Every hashed RECORD line matches the installed file.
    checked = 0
    for line in dist.read_text("RECORD").splitlines():
        relpath, digest, size = line.rsplit(",", 2)
        if not digest:
            continue
        data = (target / relpath).read_bytes()
        algo, _, expected = digest.partition("=")
        actual = base64.urlsafe_b64encode(hashlib.new(algo, data).digest()).rstrip(b"=").decode()
        assert (actual, len(data)) == (expected, int(size)), relpath
        checked += 1
    assert checked >= 6
    monkeypatch.syspath_prepend(str(target))
    assert importlib.import_module("tbt_helper.sub.mod").VALUE == 42
