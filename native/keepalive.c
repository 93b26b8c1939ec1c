// skiff's keepalive addon: the TCP keepalive settings Node cannot set. Node's
// socket.setKeepAlive sets SO_KEEPALIVE and TCP_KEEPIDLE only (libuv has no TCP_KEEPINTVL or
// TCP_KEEPCNT); Envoy's upstream_connection_options.tcp_keepalive has all three.
//
//   setKeepAliveParams(fd, timeSec, intervalSec, probes): SO_KEEPALIVE on, then each value > 0
//     as TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT (0 leaves the kernel's). Throws on failure.
//   getKeepAliveParams(fd): { enabled, timeSec, intervalSec, probes } as the kernel has them.
//   getKeepAliveParamsOf(pid, fd): the same for another process's socket (pidfd_getfd; needs
//     ptrace rights over it). For tests and diagnostics.
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static napi_value throw_errno(napi_env env, const char* what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int get_int32(napi_env env, napi_value v, const char* name, int32_t* out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a number", name);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

static napi_value set_params(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "setKeepAliveParams(fd, timeSec, intervalSec, probes)");
    return NULL;
  }
  int32_t fd, time_s, interval_s, probes;
  if (!get_int32(env, argv[0], "fd", &fd) || !get_int32(env, argv[1], "timeSec", &time_s) ||
      !get_int32(env, argv[2], "intervalSec", &interval_s) ||
      !get_int32(env, argv[3], "probes", &probes))
    return NULL;
  if (fd < 0) {
    napi_throw_range_error(env, NULL, "fd must be >= 0");
    return NULL;
  }
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0)
    return throw_errno(env, "setsockopt(SO_KEEPALIVE)", errno);
  if (time_s > 0 && setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &time_s, sizeof time_s) != 0)
    return throw_errno(env, "setsockopt(TCP_KEEPIDLE)", errno);
  if (interval_s > 0 &&
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s) != 0)
    return throw_errno(env, "setsockopt(TCP_KEEPINTVL)", errno);
  if (probes > 0 && setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes) != 0)
    return throw_errno(env, "setsockopt(TCP_KEEPCNT)", errno);
  return NULL;
}

static napi_value read_params(napi_env env, int fd) {
  int enabled = 0, time_s = 0, interval_s = 0, probes = 0;
  socklen_t len = sizeof(int);
  if (getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &enabled, &len) != 0)
    return throw_errno(env, "getsockopt(SO_KEEPALIVE)", errno);
  len = sizeof(int);
  if (getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &time_s, &len) != 0)
    return throw_errno(env, "getsockopt(TCP_KEEPIDLE)", errno);
  len = sizeof(int);
  if (getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, &len) != 0)
    return throw_errno(env, "getsockopt(TCP_KEEPINTVL)", errno);
  len = sizeof(int);
  if (getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, &len) != 0)
    return throw_errno(env, "getsockopt(TCP_KEEPCNT)", errno);
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_get_boolean(env, enabled != 0, &v);
  napi_set_named_property(env, obj, "enabled", v);
  napi_create_int32(env, time_s, &v);
  napi_set_named_property(env, obj, "timeSec", v);
  napi_create_int32(env, interval_s, &v);
  napi_set_named_property(env, obj, "intervalSec", v);
  napi_create_int32(env, probes, &v);
  napi_set_named_property(env, obj, "probes", v);
  return obj;
}

static napi_value get_params(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc < 1 || !get_int32(env, argv[0], "fd", &fd)) return NULL;
  return read_params(env, fd);
}

static napi_value get_params_of(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t pid, fd;
  if (argc < 2 || !get_int32(env, argv[0], "pid", &pid) || !get_int32(env, argv[1], "fd", &fd))
    return NULL;
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return throw_errno(env, "pidfd_open", errno);
  int local = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
  int err = errno;
  close(pidfd);
  if (local < 0) return throw_errno(env, "pidfd_getfd", err);
  napi_value result = read_params(env, local);
  close(local);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"setKeepAliveParams", NULL, set_params, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getKeepAliveParams", NULL, get_params, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getKeepAliveParamsOf", NULL, get_params_of, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
