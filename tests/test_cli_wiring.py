"""The CLI's wiring: --debug comes from the parsed root option, plugin commands live for one invocation."""

from __future__ import annotations

HELLO = """
import click
from restorefw import hookimpl

@hookimpl
def restorefw_commands(cli):
    @cli.command()
    def hello():
        click.echo("hello from a plugin")
"""


def test_debug_is_the_root_option_not_any_argument_spelt_so(cli):
    code, _, err = cli("run", "--", "--debug")  # a recipe file named "--debug", which does not exist
    assert code == 2 and "Traceback" not in err
    code, _, err = cli("--debug", "run", "--", "--debug")
    assert code == 2 and "Traceback" in err


def test_plugin_commands_belong_to_one_invocation(cli, install_dist, monkeypatch):
    install_dist("restorefw-hello", {"hello": "hello_plugin"}, {"hello_plugin": HELLO})
    code, out, err = cli("hello")
    assert code == 0 and "hello from a plugin" in out, err
    monkeypatch.setenv("RESTOREFW_DISABLE_PLUGINS", "hello")
    code, out, err = cli("hello")
    assert code == 2 and "No such command" in err
    code, out, _ = cli("--help")
    assert code == 0 and "hello" not in out and "bench" in out and "evaluate" in out
