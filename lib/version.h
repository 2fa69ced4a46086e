/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CGPILOT_VERSION_H
#define CGPILOT_VERSION_H

#define CGPILOT_VERSION "0.1.0"

#endif
