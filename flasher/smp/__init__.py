"""SMP (mcumgr) devices: MCUboot serial recovery and Zephyr's SMP server (issue 13).

Layers as in the rest of the flasher: `framing` (pure bytes), `session` (sequence numbers,
reply matching, timeouts; on smpclient's request models), `replies` (the one boundary
where reply bytes become models or typed errors), `operations` and `upload`.
"""

from __future__ import annotations

from flasher.smp.operations import (
    DeviceInfo,
    ImageSlot,
    McumgrParams,
    confirm,
    echo,
    identify,
    mark_test,
    probe,
    read_image_state,
    read_params,
    reset,
    reset_and_wait,
    wait_ready,
)
from flasher.smp.session import SessionOptions, SmpSession
from flasher.smp.update import (
    UpdateOptions,
    UpdateOutcome,
    update_application,
    update_in_recovery,
)
from flasher.smp.upload import UploadOptions, UploadProgress, UploadResult, upload

__all__ = ["DeviceInfo", "ImageSlot", "McumgrParams", "SessionOptions", "SmpSession",
           "UpdateOptions", "UpdateOutcome", "UploadOptions", "UploadProgress", "UploadResult",
           "confirm", "echo", "identify", "mark_test", "probe", "read_image_state", "read_params", "reset",
           "reset_and_wait", "update_application", "update_in_recovery", "upload", "wait_ready"]
