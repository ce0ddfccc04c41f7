"""Routes of the api surface for hashing: scan images, and see hash lists (never their hashes)."""

from __future__ import annotations

from flask import jsonify, request

from hostguard.errors import InvalidInput, TooLarge
from hostguard.hashing.service import list_lists, scan_images
from hostguard.web.access import api_route, db, runtime
from hostguard.web.api import bp

OPERATOR = {"operator"}
MAX_IMAGES = 100


@api_route(bp, "/scan", methods=["POST"], scopes=OPERATOR,
           multipart={"images": "image files (repeat the field for several)"},
           summary="Hash images and match them against every enabled hash list",
           responses={200: '{"results": [{path, matched, matches: [{list, algorithm, distance, '
                           'threshold, entry}], error, low_quality}]}'},
           tags=["hashing"])
def scan():
    files = [f for f in request.files.getlist("images") if f]
    if not files:
        files = [f for name in request.files for f in request.files.getlist(name) if f]
    if not files:
        raise InvalidInput("send the images as multipart/form-data file fields named 'images'")
    if len(files) > MAX_IMAGES:
        raise TooLarge(f"at most {MAX_IMAGES} images per request")
    limit = runtime().settings.max_image_bytes
    images = []
    for number, upload in enumerate(files, start=1):
        data = upload.stream.read(limit + 1)
        name = (upload.filename or f"image-{number}")[:500]
        if len(data) > limit:
            data = b""  # reported per file below rather than failing the batch
            images.append((name, None))
        else:
            images.append((name, data))
    readable = [(n, d) for n, d in images if d is not None]
    scans = iter(scan_images(session=db(), runtime=runtime(), images=readable))
    results = []
    for name, data in images:
        if data is None:
            results.append({"path": name, "matched": False, "matches": [],
                            "error": f"file too large: the limit is {limit} bytes", "low_quality": False})
        else:
            results.append(next(scans).to_json())
    return jsonify({"results": results})


@api_route(bp, "/hashlists", methods=["GET"], scopes=OPERATOR,
           summary="Hash lists with their settings and entry counts (never the hashes)",
           responses={200: '{"lists": [{name, algorithm, threshold, action, category, source, '
                           'entries, version, enabled, internal, updated_at}]}'},
           tags=["hashing"])
def hashlists():
    return jsonify({"lists": list_lists(session=db())})
