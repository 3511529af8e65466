"""What the fallback says under WRAPT_PATCHES_DEBUG, and nothing else.

Imported only when WRAPT_PATCHES_DEBUG is set: every start the fallback
serves loads _fallback's bytecode, and this part of it is needed by none
of them. Each function is the twin of the native module's function named
beside it, as in _fallback.
"""

import os
import sys
from stat import S_IFREG

from . import _fallback
from ._fallback import (
    _ALLOWED,
    _MAX_FILE_SIZE,
    _OPEN_FLAGS,
    _S_IFMT,
    _distributions,
    _edit,
    _is_other_tools_group,
)


# ---------------------------------------------------------------------------
# names (crates/common/src/names.rs): the nearest name, for "did you mean"
# ---------------------------------------------------------------------------


def nearest(name, candidates):
    # The candidate nearest to name if one is close enough to be the name
    # meant (names.rs, nearest): by distance ignoring case, at most a third
    # of name's length, ties to the first in sorted order, never name.
    limit = max(len(name), 3) // 3
    folded = name.lower()
    best = None
    for candidate in sorted(candidates):
        if candidate == name:
            continue
        edits = distance(folded, candidate.lower())
        if edits <= limit and (best is None or edits < best[0]):
            best = (edits, candidate)
    return best[1] if best else None


def distance(a, b):
    # Optimal string alignment distance (names.rs, distance): insertions,
    # deletions, substitutions and transpositions of adjacent characters.
    before = [0] * (len(b) + 1)
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        before, previous = previous, current
    return previous[len(b)]


# ---------------------------------------------------------------------------
# scan (crates/common/src/scan.rs): every group the environment declares
# ---------------------------------------------------------------------------


def read_metadata(source):
    # The bytes of the file at source as scan reads them (read_metadata_file
    # in scan.rs), or None: a regular file within the limit only, never
    # blocking. For WRAPT_PATCHES_DEBUG, which reads every distribution's
    # entry points; _fallback's scan reads inline, for startup's speed.
    try:
        fd = os.open(source, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if info[0] & _S_IFMT != S_IFREG or info[6] > _MAX_FILE_SIZE:
            return None
        data = b""
        chunk = os.read(fd, info[6] + 1)
        while chunk:
            data += chunk
            if len(data) > _MAX_FILE_SIZE:
                return None
            chunk = os.read(fd, min(max(len(data), 8192), _MAX_FILE_SIZE + 1 - len(data)))
        return data
    except OSError:
        return None
    finally:
        os.close(fd)


def declared_groups(paths):
    # The groups the distributions on paths declare (scan.rs,
    # declared_groups): each section with at least one "name = value" line,
    # in the entry_points.txt of the first distribution of each name, that
    # WRAPT_PATCHES can select. A group not among them is one that scan
    # finds no entry point of.
    groups = set()
    for dist_dir in _distributions(paths, set()):
        data = read_metadata(os.path.join(dist_dir, "entry_points.txt"))
        try:
            text = data.decode("utf-8-sig")
        except (AttributeError, UnicodeDecodeError):
            continue  # None, or not UTF-8: declares nothing
        group = None
        for line in text.splitlines():
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line[0] == "[" and line[-1] == "]":
                group = line[1:-1].strip()
            elif (
                group
                and "=" in line
                and not group.strip(_ALLOWED)
                and not _is_other_tools_group(group)
            ):
                groups.add(group)
    return groups


# ---------------------------------------------------------------------------
# selection (crates/common/src/selection.rs): why a selection is what it is
# ---------------------------------------------------------------------------


def explain(wrapt_patches, autowrapt_bootstrap, defaults, groups, autowrapt_groups):
    # Why select() chose groups and autowrapt_groups (or nothing), in the
    # line WRAPT_PATCHES_DEBUG prints (selection.rs, explain).
    if wrapt_patches is not None and _edit(wrapt_patches, (), []) is None:
        return (
            "nothing selected: WRAPT_PATCHES=%r is the kill switch (AUTOWRAPT_BOOTSTRAP is ignored too)"
            % (wrapt_patches,)
        )
    listed = ", ".join(defaults) or "(none)"
    if wrapt_patches is None:
        if defaults:
            why = "the default groups %s (WRAPT_PATCHES is unset)" % listed
        else:
            why = "WRAPT_PATCHES is unset and there are no default groups"
    elif all(item.strip()[0] in "+-" for item in wrapt_patches.split(",") if item.strip()):
        why = "the default groups %s edited by WRAPT_PATCHES=%r" % (listed, wrapt_patches)
    else:
        why = "WRAPT_PATCHES=%r" % (wrapt_patches,)
    if autowrapt_bootstrap is None:
        autowrapt = ""
    elif autowrapt_groups:
        autowrapt = "; AUTOWRAPT_BOOTSTRAP=%r adds %s" % (autowrapt_bootstrap, ", ".join(autowrapt_groups))
    else:
        autowrapt = "; AUTOWRAPT_BOOTSTRAP=%r names none" % (autowrapt_bootstrap,)
    if not groups and not autowrapt_groups:
        return "nothing selected: " + why + autowrapt
    return "selected %s: %s%s" % (", ".join(groups) or "(none)", why, autowrapt)


# ---------------------------------------------------------------------------
# activation (crates/bootstrap/src/activation.rs): groups nothing declares
# ---------------------------------------------------------------------------

# The enabled groups that nothing declares have been named (once per
# interpreter, when startup's scans are done).
_missing_reported = False


def report_missing_groups():
    # Once startup's scans are done: each enabled group that no distribution
    # on sys.path declares, with the declared group nearest its name where
    # one is close, since a misspelt group otherwise selects nothing without
    # a word (activation.rs, report_missing_groups). Listing every group
    # declared reads every entry_points.txt: only under WRAPT_PATCHES_DEBUG.
    global _missing_reported
    if _missing_reported:
        return
    _missing_reported = True
    declared = declared_groups(list(sys.path))
    candidates = declared | {"wrapt_bootstrap.examples"}
    enabled = list(_fallback._selected)
    enabled += [g for g in _fallback._autowrapt_groups if g not in enabled]
    for group in enabled:
        if group not in declared:
            near = nearest(group, candidates)
            _fallback._report(
                "no distribution on sys.path declares group '%s'%s"
                % (group, " (did you mean '%s'?)" % near if near else "")
            )
