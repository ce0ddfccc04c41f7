"""The hosting platform as hostguard sees it: uploaders, model repositories, platform actions."""
