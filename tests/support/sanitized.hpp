#pragma once
// SIGFLOW_SANITIZED is 1 in a build under ASan or TSan, whichever compiler: GCC defines __SANITIZE_*__,
// clang answers __has_feature. Tests that the sanitizers' interceptors change (mlock, operator new) use it.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SIGFLOW_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SIGFLOW_SANITIZED 1
#endif
#endif
