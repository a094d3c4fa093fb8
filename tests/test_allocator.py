import platform
import sys

import pytest

from stasc.allocator import return_large_buffers_to_the_system


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_on_glibc_large_buffers_go_back_to_the_system_once_freed() -> None:
    # the long-recording memory test (tests/cli/test_predict_explain.py) holds the effect; this, the setting
    assert return_large_buffers_to_the_system() is True
    assert return_large_buffers_to_the_system() is True  # once per process, then cached
