"""Upload hooks: policies, know-your-uploader, pre-upload certifications, the pre-upload check."""
