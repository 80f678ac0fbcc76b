"""dicomwire: asyncio-native DICOM networking."""
