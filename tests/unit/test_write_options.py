"""WriteOptions is checked however it is made: constructed, or copied with ``_replace``."""

import pytest

from ironwal_cli import WriteOptions
from ironwal_cli.errors import UsageError


@pytest.mark.parametrize("bad", [{"sync": "sometimes"}, {"max_segment_size": 0}, {"max_entries_per_segment": 0}])
def test_bad_options_are_refused_made_or_replaced(bad):
    with pytest.raises(UsageError):
        WriteOptions(**bad)
    with pytest.raises(UsageError):
        WriteOptions()._replace(**bad)


def test_options_are_immutable_and_compare_by_value():
    opts = WriteOptions(sync="async", compress=True)
    with pytest.raises(AttributeError):
        opts.sync = "strict"
    assert opts == WriteOptions(compress=True, sync="async")
    assert opts._replace(sync="batch").sync == "batch" and opts.sync == "async"
    assert WriteOptions().max_entries_per_segment is None and WriteOptions().sync == "strict"
