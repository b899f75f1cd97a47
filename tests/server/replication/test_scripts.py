"""The QuickJS script runner: Listing 6.6 verbatim gives Listing 6.7; limits hold."""

from __future__ import annotations

import copy

import pytest

from unkindness.server.replication.scripts import ScriptError, check_script, run_resolution_script
from support.seed_listings import CART_A, CART_B, LISTING_6_6, LISTING_6_7

def test_listing_6_6_verbatim_gives_listing_6_7() -> None:
    assert run_resolution_script(LISTING_6_6, [copy.deepcopy(CART_A), copy.deepcopy(CART_B)]) == LISTING_6_7


def test_inputs_are_not_mutated() -> None:
    a, b = copy.deepcopy(CART_A), copy.deepcopy(CART_B)
    run_resolution_script(LISTING_6_6, [a, b])
    assert (a, b) == (CART_A, CART_B)


def test_null_result_means_delete() -> None:
    assert run_resolution_script("return null;", [CART_A]) is None
    assert run_resolution_script("var x = 1;", [CART_A]) is None


def test_endless_script_is_stopped_by_the_time_limit() -> None:
    with pytest.raises(ScriptError, match="time limit"):
        run_resolution_script("while (true) {}", [CART_A], time_limit_s=0.1)


def test_throwing_script_is_a_script_error() -> None:
    with pytest.raises(ScriptError, match="boom"):
        run_resolution_script("throw new Error('boom');", [CART_A])


def test_non_object_result_is_refused() -> None:
    with pytest.raises(ScriptError, match="object or null"):
        run_resolution_script("return 42;", [CART_A])


def test_memory_hog_is_stopped() -> None:
    with pytest.raises(ScriptError):
        run_resolution_script("var a = []; while (true) { a.push(new Array(100000).fill(1)); }", [CART_A], time_limit_s=2)


def test_check_script_refuses_syntax_errors_and_empty_scripts() -> None:
    check_script(LISTING_6_6)
    with pytest.raises(ScriptError, match="does not compile"):
        check_script("return docs[0")
    with pytest.raises(ScriptError, match="non-empty"):
        check_script("  ")


def test_trailing_comment_does_not_break_the_wrapper() -> None:
    assert run_resolution_script("return docs[0]; // done", [CART_A]) == CART_A
