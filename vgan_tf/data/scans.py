"""Is a strip's entropy-coded scan whole? In-graph looks that libjpeg does not print about.

libjpeg reports a damaged scan only as a warning that it prints on stderr itself ("Corrupt
JPEG data: premature end of data segment", "N extraneous bytes before marker 0xd9"), and
TensorFlow's decoder exposes neither the warning nor its count. A damaged scan still
decodes: what it leaves is in the pixels. Two kinds are looked for:

- ran out: the scan needed more data than it holds (a cut closed again, or flipped bits
  that desynchronised the Huffman decoding until the data ran out). libjpeg fills
  everything after that point with its flat grey (FILL_VALUE).
- ended early: the decoder finished the image before the data (flipped bits, or a frame
  header declaring fewer rows than the scan holds): whole bytes are left over, and the
  image after a flip is garbage.

Why these probes: every decode of a GOOD strip here is one libjpeg finds nothing to say
about, so the checks print nothing for good strips (issue 25, item 7: the first design
decoded variants that made libjpeg warn for every strip). A decode is silent when the data
it reads is consistent: the probes change only what a good strip does not use, or stop
the decoder before it reads anything else. TensorFlow's decode_and_crop_jpeg that ends
above the image's last row never reads past the rows it returns (libjpeg-turbo's skip to
the end marks the image as finished), so bytes appended after the scan are read only by a
decoder that wants them.

- scan_damaged (the full checks): the last 16 rows at full size (all but the last row),
  as the strip is and with its last data byte changed (its first bit flipped, the rest
  a fixed pattern, zeros after): a good strip uses that byte, so its last block changes;
  a scan that ended early leaves the byte unused, and nothing changes. Where the last
  block is achromatic (where libjpeg's fill would be), ran_out_of_data confirms. Where
  the changed byte shows nothing there, two more looks: the last 16 rows with the last
  row, under a frame header declaring 16 more rows and without fancy upsampling (a
  change can show only in the last row: 2 of make demo's 1,024 strips), then the rows of
  the first look with amplified quantization tables (at quality ~100 a one-bit change
  can round away). Where none shows a change (a restart interval; about 1 in 500 strips
  at quality 98-100), and for strips these probes do not fit (progressive, no frame
  header in the first 4 MiB, taller than 65519 rows), the earlier probes decide
  (_damaged_loudly: they make libjpeg print one line per strip).
- ran_out_of_data (also the default pipeline's confirmation of a suspect grey corner):
  the strip at ratio 8 as it is, and with 64 bytes of data after its scan and a frame
  header declaring 16 more rows, cropped to its own rows: a complete scan never reads the
  added bytes (identical images), a scan that ran out reads them instead of the fill.

Measured (tests/data/test_flipped_bits.py, test_bad_strips_more.py; docs/data.md "What is
not caught"): every strip with flipped bits that libjpeg warns about, every cut strip and
every short frame header is caught; no good strip of the tested encoders is flagged; the
binaries print no libjpeg line for good strips (tests/data/test_quiet_checks.py).
"""
from __future__ import annotations

import typing

import tensorflow as tf

from vgan_tf.data import checks, control

FILL_VALUE = 128
"""What libjpeg writes where a scan ran out of data: with no data left its entropy decoder
leaves every coefficient of the remaining blocks at zero, DC included (jdhuff.c,
`insufficient_data`), so each of them decodes to exactly 128 in every component, i.e.
RGB (128, 128, 128), from the point of the cut to the end of the image."""

_MORE_DATA = b"\x00" + bytes(range(0x21, 0x60))
"""64 bytes (no 0xFF among them; the first 0x00 completes a stuffed 0xFF byte where the
cut left one): data for a scan that was cut short (_damaged_loudly)."""
_PROBE_DATA = b"\x55" * 4096
"""Bytes put after the scan: read only by a scan that ran out (no 0xFF; alternating bits
never run off a Huffman tree; 4 KiB: a desynchronised block can take a few hundred)."""
_SPARE_ZEROS = bytes(4096)
"""Zeros after the changed last byte: every path through a canonical Huffman tree ends in
a code when it goes on with zeros, and 4 KiB outlast the rest of the last MCU (at most 10
blocks of at most 209 bytes each)."""
_EOI = b"\xff\xd9"
_AMPLIFIER = (b"\xff\xdb" + (2 + 4 * 65).to_bytes(2, "big")
              + b"".join(bytes([table, 2] + [16] * 63) for table in range(4)))
"""A DQT segment put before the scan by scan_damaged's second look: quantization tables
0-3 redefined with 16 for every AC coefficient and 2 for DC, so that a change of one
coefficient shows in the pixels where the strip's own tables round it away (at quality
100 every step is 1). It changes no entropy decoding (but saturates strong content,
hence second)."""
_CHANGED_REST = (0x2A, 0x55)
"""The last byte's other seven bits in the probes (0101010, then 1010101): no run of
ones."""
_SEARCH_BYTES = (checks.HEADER_BYTES, checks.LARGE_HEADER_BYTES)
"""Where the frame header is looked for: as far as the header checks' walk."""
_BYTE_STRINGS = tuple(bytes([i]) for i in range(256))
_PROGRESSIVE = 0xC2
_MAX_ROWS = 65536 - 16


class _Frame(typing.NamedTuple):
    """Where a strip's frame header and scan are."""

    at: tf.Tensor  # position of the SOF0-2 marker declaring height x width, or -1
    components: tf.Tensor  # its component count
    kind: tf.Tensor  # its marker byte (0xC2: progressive)
    scan: tf.Tensor  # position of the last start-of-scan marker
    end: tf.Tensor  # position of the first end-of-image marker after the last scan
    bytes: tf.Tensor  # the strip's bytes, int32


def _frame_header_at(encoded, height, width, limit):
    """(position of the first SOF0-2 marker declaring height x width in the first `limit`
    bytes, or -1; its component count; its marker byte)."""
    data = tf.cast(tf.io.decode_raw(tf.strings.substr(encoded, 0, limit), tf.uint8),
                   tf.int32)
    n = tf.size(data)
    b = tf.concat([data, tf.zeros([10], tf.int32)], axis=0)
    sof = (tf.equal(b[:n], 0xFF) & (b[1:n + 1] >= 0xC0) & (b[1:n + 1] <= 0xC2)
           & tf.equal(b[5:n + 5] * 256 + b[6:n + 6], height)
           & tf.equal(b[7:n + 7] * 256 + b[8:n + 8], width))
    at = tf.reduce_min(tf.where(sof, tf.range(n), n))
    return (tf.where(at < n, at, -1), tf.gather(b, tf.minimum(at + 9, n)),
            tf.gather(b, tf.minimum(at + 1, n)))


def _frame(encoded, height, width) -> _Frame:
    """The frame header (first 64 KiB, then 4 MiB) and the end of the last scan."""
    header = _frame_header_at(encoded, height, width, _SEARCH_BYTES[0])
    at, components, kind = control.cond(
        (header[0] < 0) & (tf.strings.length(encoded) > _SEARCH_BYTES[0]),
        lambda: _frame_header_at(encoded, height, width, _SEARCH_BYTES[1]),
        lambda: header)
    data = tf.cast(tf.io.decode_raw(encoded, tf.uint8), tf.int32)
    marker = tf.equal(data[:-1], 0xFF)
    positions = tf.range(tf.size(data) - 1)
    last_scan = tf.reduce_max(tf.where(marker & tf.equal(data[1:], 0xDA), positions, -1))
    ends = marker & tf.equal(data[1:], 0xD9) & (positions > last_scan)
    end = tf.reduce_min(tf.where(ends, positions, tf.size(data)))
    return _Frame(at, components, kind, last_scan, end, data)


def _taller(encoded, frame: _Frame, height):
    """The strip's bytes up to its end-of-image marker, its frame header declaring 16 more
    rows (one more 4:2:0 MCU row; never decoded: the probes crop above it)."""
    taller = height + 16
    digits = tf.gather(tf.constant(_BYTE_STRINGS), tf.stack([taller // 256, taller % 256]))
    return tf.strings.join([tf.strings.substr(encoded, 0, frame.at + 5),
                            tf.strings.reduce_join(digits),
                            tf.strings.substr(encoded, frame.at + 7, frame.end - frame.at - 7)])


def ran_out_of_data(encoded, height, width):
    """In-graph: whether the scan of `encoded` (height x width, from its header) needed
    more data than it holds: bool scalar. See the module docstring; where the probe does
    not fit (progressive, no frame header found, over 65519 rows) the strip is decoded
    with _MORE_DATA before its end-of-image marker instead (libjpeg prints a line)."""
    height = tf.cast(height, tf.int32)
    width = tf.cast(width, tf.int32)
    frame = _frame(encoded, height, width)
    quiet = (frame.at >= 0) & tf.not_equal(frame.kind, _PROGRESSIVE) & (height < _MAX_ROWS)
    return control.cond(quiet, lambda: _reads_past_end(encoded, frame, height, width),
                        lambda: _ran_out_loudly(encoded))


def _reads_past_end(encoded, frame: _Frame, height, width):
    """Ratio 8: the strip against its taller form with _PROBE_DATA after the scan, cropped
    to the strip's rows (so nothing after them is read)."""
    probe = tf.strings.join([_taller(encoded, frame, height), _PROBE_DATA, _EOI])
    crop = tf.stack([0, 0, (height + 7) // 8, (width + 7) // 8])
    return tf.reduce_any(tf.not_equal(
        tf.io.decode_and_crop_jpeg(probe, crop, channels=3, ratio=8),
        tf.io.decode_jpeg(encoded, channels=3, ratio=8)))


def scan_damaged(encoded, height, width):
    """In-graph: whether the scan of a strip that decodes is damaged (bool scalar): it ran
    out of data anywhere, or it ended before its data (see the module docstring for how,
    and why libjpeg prints nothing for a good strip). Strict mode, the full checks
    (ReadOptions.full_checks, paid once per strip with the verdict cache) and the shard
    writer. A restart interval keeps a flip's damage inside it and the scan then ends
    where it should: not caught (local damage)."""
    height = tf.cast(height, tf.int32)
    width = tf.cast(width, tf.int32)
    frame = _frame(encoded, height, width)
    data = frame.bytes
    stuffed = tf.equal(tf.gather(data, tf.maximum(frame.end - 1, 0)), 0) & tf.equal(
        tf.gather(data, tf.maximum(frame.end - 2, 0)), 0xFF)
    last_at = tf.where(stuffed, frame.end - 2, frame.end - 1)
    marker_last = tf.equal(tf.gather(data, tf.maximum(last_at - 1, 0)), 0xFF)
    quiet = ((frame.at >= 0) & tf.not_equal(frame.kind, _PROGRESSIVE) & (height < _MAX_ROWS)
             & (height > 8) & (last_at > frame.at) & tf.logical_not(marker_last))
    return control.cond(
        quiet, lambda: _damaged_quietly(encoded, frame, last_at, height, width),
        lambda: _damaged_loudly(encoded, frame, height, width))


def _damaged_quietly(encoded, frame: _Frame, last_at, height, width):
    """scan_damaged where the probes fit. The last 16 rows but one at full size, as the
    strip is (`plain`) and with, after its scan, _PROBE_DATA (a scan that ran out near its
    end reads it) or its last data byte changed (a scan that ended early leaves that byte
    unused: nothing changes). Where the change shows nothing: the last rows
    (_last_rows_changed), then the two decoded again with _AMPLIFIER before the scan and
    another change, then the old probes. A scan that
    ran out further up leaves an achromatic last block (libjpeg's fill): ran_out_of_data's
    probe confirms."""
    top = tf.maximum(height - 17, 0)
    crop = tf.stack([top, 0, height - 1 - top, width])  # never the last row: see above
    flipped = tf.bitwise.bitwise_and(tf.bitwise.bitwise_xor(
        tf.gather(frame.bytes, last_at), 0x80), 0x80)

    def decode(*parts):
        return tf.io.decode_and_crop_jpeg(tf.strings.join(parts), crop, channels=3)

    def probes(head, rest):
        """(the strip decoded, whether its last byte changed shows): `head` before the
        scan."""
        scan = tf.strings.substr(encoded, frame.scan, last_at - frame.scan)
        changed = tf.gather(tf.constant(_BYTE_STRINGS), tf.bitwise.bitwise_or(flipped, rest))
        image = decode(head, tf.strings.substr(encoded, frame.scan, -1))
        return image, tf.reduce_any(tf.not_equal(image, decode(head, scan, changed,
                                                               _SPARE_ZEROS, _EOI)))

    head = tf.strings.substr(encoded, 0, frame.scan)
    plain, used = probes(head, _CHANGED_REST[0])
    corner = plain[-7:, -8:]
    achromatic = tf.where(tf.equal(frame.components, 1),
                          tf.reduce_all(tf.equal(corner, FILL_VALUE)),
                          tf.reduce_all(tf.equal(corner, corner[..., :1])))

    def ran_out():
        near = tf.reduce_any(tf.not_equal(plain, decode(
            head, tf.strings.substr(encoded, frame.scan, frame.end - frame.scan),
            _PROBE_DATA, _EOI)))
        return near | control.cond(
            achromatic, lambda: _reads_past_end(encoded, frame, height, width),
            lambda: tf.constant(False))

    def amplified_or_loud():
        amplified = probes(tf.strings.join([head, _AMPLIFIER]), _CHANGED_REST[1])[1]
        return control.cond(amplified, ran_out,
                            lambda: _damaged_loudly(encoded, frame, height, width))

    def unused():  # or a change the picture hides: its last row, amplified, the old probes
        return control.cond(_last_rows_changed(encoded, frame, last_at, flipped, height, width),
                            ran_out, amplified_or_loud)

    return control.cond(used, ran_out, unused)


def _last_rows_changed(encoded, frame: _Frame, last_at, flipped, height, width):
    """Whether the last byte changed (its first bit flipped, zeros after) shows in the
    strip's last 16 rows, its last row included: decoded with a frame header declaring 16
    more rows (so the decoder stops after the strip's rows, reading nothing after them)
    and without fancy upsampling (which would read the next MCU row for the chroma below
    the last row). A change can show only in the last row: a one-coefficient change of
    the last chroma block near the bottom (make demo's strips 599 and 846 of 1,024)."""
    top = tf.maximum(height - 16, 0)
    crop = tf.stack([top, 0, height - top, width])
    head = tf.strings.substr(_taller(encoded, frame, height), 0, frame.scan)
    changed = tf.gather(tf.constant(_BYTE_STRINGS), flipped)

    def decode(*parts):
        return tf.io.decode_and_crop_jpeg(tf.strings.join([head, *parts, _SPARE_ZEROS, _EOI]),
                                          crop, channels=3, fancy_upscaling=False)

    scan = tf.strings.substr(encoded, frame.scan, last_at - frame.scan)
    whole = tf.strings.substr(encoded, frame.scan, frame.end - frame.scan)
    return tf.reduce_any(tf.not_equal(decode(whole), decode(scan, changed)))


def _ran_out_loudly(encoded):
    """The strip at ratio 8 as it is and with _MORE_DATA before the first end-of-image
    marker after the last scan: a cut scan reads on into it (its end changes), a complete
    one does not (libjpeg prints "N extraneous bytes" for that decode)."""
    return tf.reduce_any(tf.not_equal(
        tf.io.decode_jpeg(_with_more_data(encoded), channels=3, ratio=8),
        tf.io.decode_jpeg(encoded, channels=3, ratio=8)))


def _with_more_data(encoded):
    """`encoded` with _MORE_DATA put before the first end-of-image marker after the last
    start-of-scan."""
    data = tf.cast(tf.io.decode_raw(encoded, tf.uint8), tf.int32)
    marker = tf.equal(data[:-1], 0xFF)
    positions = tf.range(tf.size(data) - 1)
    last_scan = tf.reduce_max(tf.where(marker & tf.equal(data[1:], 0xDA), positions, -1))
    ends = marker & tf.equal(data[1:], 0xD9) & (positions > last_scan)
    end = tf.reduce_min(tf.where(ends, positions, tf.size(data)))
    return tf.strings.join([tf.strings.substr(encoded, 0, end), _MORE_DATA,
                            tf.strings.substr(encoded, end, -1)])


def _damaged_loudly(encoded, frame: _Frame, height, width):
    """The first design's probes (libjpeg prints a line for each, good strips included):
    A, the strip with its frame header declaring 16 more rows (a complete scan has no data
    for them: libjpeg's fill after the first MCU, which may take the last byte's padding
    bits; a scan that ended early decodes its leftover data into them), and B
    (_ran_out_loudly). Where A cannot be looked at (no frame header, a width under 32, over
    65519 rows, CMYK/YCCK) only B is asked."""
    taller = height + 16
    testable = (frame.at >= 0) & (width >= 32) & (taller < 65536) & tf.not_equal(
        frame.components, 4)

    def both():
        digits = tf.gather(tf.constant(_BYTE_STRINGS), tf.stack([taller // 256, taller % 256]))
        patched = tf.strings.join([tf.strings.substr(encoded, 0, frame.at + 5),
                                   tf.strings.reduce_join(digits),
                                   tf.strings.substr(encoded, frame.at + 7, -1)])
        a = tf.io.decode_jpeg(patched, channels=3, ratio=8)
        b = tf.io.decode_jpeg(_with_more_data(encoded), channels=3, ratio=8)
        first_fill_row = (height + 15) // 16 * 2  # the first whole MCU row added, ratio 8
        ended_early = tf.reduce_any(tf.not_equal(a[first_fill_row:, 2:], FILL_VALUE))
        ran_out = tf.reduce_any(tf.not_equal(a[:tf.shape(b)[0]], b))
        return ended_early | ran_out

    return control.cond(testable, both, lambda: _ran_out_loudly(encoded))
