{
  "targets": [
    {
      "target_name": "tessera_planes",
      "sources": ["native/planes.c", "native/fingerprint.c", "native/stderr.c"],
      "cflags": ["-O3", "-std=c11"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] }
    }
  ]
}
