/** Value types, pipeline specs and their schemas, shared by every Evergreen module. */
package dev.evergreen.api;
