#pragma once
// Readers for the object kinds Sluice uses. Each reads the fields after apiVersion/kind/metadata
// from the object's top-level MapReader; problems go to the reader's Context.
#include "reader.h"

#include <sluice/model/snapshot.h>

namespace sluice::parse {

void readMetadata(MapReader& top, model::ObjectMeta& out);

void readService(MapReader& top, model::Service& out);
void readEndpointSlice(MapReader& top, model::EndpointSlice& out);
void readPod(MapReader& top, model::Pod& out);
void readVirtualService(MapReader& top, model::VirtualService& out);
void readDestinationRule(MapReader& top, model::DestinationRule& out);

}  // namespace sluice::parse
