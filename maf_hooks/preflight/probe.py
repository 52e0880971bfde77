"""What an interpreter is and which distributions it has installed.

Standard library only and plain syntax: the python check runs this file with another interpreter
(``[preflight.checks.python] interpreter``), possibly an old one, and reads the JSON it prints::

    python probe.py '["requests", "click"]'
"""

import json
import os
import platform
import sys


def marker_environment():
    """The values PEP 508 environment markers are evaluated against."""
    info = sys.implementation
    version = "{0.major}.{0.minor}.{0.micro}".format(info.version)
    if info.version.releaselevel != "final":
        version += info.version.releaselevel[0] + str(info.version.serial)
    return {
        "implementation_name": info.name,
        "implementation_version": version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def probe(names):
    """``{"executable", "version", "markers", "packages": {name: version or None}}``."""
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        metadata = None
    packages = {}
    for name in names:
        if metadata is None:
            packages[name] = None
            continue
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "executable": sys.executable,
        "version": platform.python_version(),
        "markers": marker_environment(),
        "packages": packages,
    }


if __name__ == "__main__":
    print(json.dumps(probe(json.loads(sys.argv[1]) if len(sys.argv) > 1 else [])))
