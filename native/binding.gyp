# skiff's one native addon (keepalive.c), built by scripts/build.mjs with npm's bundled node-gyp
# against the running Node's headers, into native/build/Release/skiff_keepalive.node.
{
  "targets": [
    {
      "target_name": "skiff_keepalive",
      "sources": ["keepalive.c"],
      "cflags": ["-Wall", "-Wextra"]
    }
  ]
}
