"""The media store the settings ask for, built once in the app's lifespan."""

from __future__ import annotations

from hub.media.base import MediaStore
from hub.media.fs import FilesystemStore
from hub.media.s3 import S3Store, make_client
from hub.settings import HubSettings


def media_store(s: HubSettings) -> MediaStore:
    if s.hub_media_backend == "s3":
        if not s.hub_media_s3_bucket:
            raise ValueError("EHUB_HUB_MEDIA_BACKEND=s3 needs EHUB_HUB_MEDIA_S3_BUCKET")
        client = make_client(
            endpoint_url=s.hub_media_s3_endpoint,
            region=s.hub_media_s3_region,
            access_key=s.hub_media_s3_access_key,
            secret_key=s.hub_media_s3_secret_key,
            path_style=s.hub_media_s3_path_style,
        )
        return S3Store(
            client,
            s.hub_media_s3_bucket,
            prefix=s.hub_media_s3_prefix,
            checksum=s.hub_media_s3_checksum,
        )
    return FilesystemStore(s.hub_media_dir)
