//! Exterior walks and interior samples of a batch of frames on a given device and queue.
//!
//! A batch is one submission: every frame's spheres and BVH nodes are concatenated into two
//! storage buffers, a frame table says where each frame's data and blocks are, and one
//! dispatch per kind runs one workgroup per block of 32. Each workgroup writes its block's
//! tally and its walks' end points; [`Pending::wait`] reads them back in block order as the
//! CPU's block types, which the CPU's [`crate::compute::FrameRun`] adds in f64 and turns
//! into estimates.

use super::Gpu;
use crate::body::Body;
use crate::compute::Blocks;
use crate::error::{Error, Result};
use crate::walk::{ExteriorBlock, InteriorTally, Seeds, BLOCK};
use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

/// A block's slot in the exterior output: the tally's words (padded to 32), then each walk's
/// end point and hit flag; the layout of `EXT_STRIDE` in shaders/walk.wgsl.
const EXT_WORDS: usize = 32;
const EXT_STRIDE: usize = EXT_WORDS + 4 * BLOCK as usize;
const INT_WORDS: usize = 11;
/// The deepest BVH the shader's traversal stack (64 entries) holds: 3 x depth + 1 <= 64.
const MAX_WIDE_DEPTH: usize = 21;

/// A frame's row of the frame table; the layout of `Frame` in shaders/walk.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct FrameDesc {
    seed: [u32; 2],
    key: [u32; 2],
    node_offset: u32,
    sphere_offset: u32,
    ext_first_block: u32,
    ext_block_offset: u32,
    ext_end: u32,
    int_first_block: u32,
    int_block_offset: u32,
    int_end: u32,
    launch_radius: f32,
    skin_thickness: f32,
    slack: f32,
    sphere_count: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct Params {
    frame_count: u32,
    ext_blocks: u32,
    int_blocks: u32,
    row_width: u32,
}

/// One frame's share of a batch: its body, its random streams and the blocks to run.
pub struct Work<'a> {
    /// The frame's body; its spheres and nodes are copied into the batch's buffers.
    pub body: &'a Body,
    /// The seeds the CPU would use: the shader draws the same Philox streams.
    pub seeds: Seeds,
    /// Exterior blocks to run, as [`crate::compute::FrameRun::next`] asked for them.
    pub ext: Blocks,
    /// Interior blocks to run, likewise.
    pub int: Blocks,
}

/// The compiled kernels.
pub struct Walker {
    layout: wgpu::BindGroupLayout,
    exterior: wgpu::ComputePipeline,
    interior: wgpu::ComputePipeline,
}

fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// shaders/walk.wgsl (compiled into the binary) as a module on `gpu`.
pub fn shader(gpu: &Gpu) -> wgpu::ShaderModule {
    gpu.device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("walk.wgsl"),
        source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/walk.wgsl").into()),
    })
}

/// The depth of the BVH in wide nodes (the shader's stack bound depends on it).
fn wide_depth(body: &Body) -> usize {
    fn depth(nodes: &[crate::bvh::Node], i: usize) -> usize {
        let n = &nodes[i];
        1 + (0..4).filter(|&k| n.count[k] == 0 && n.child[k] != u32::MAX).map(|k| depth(nodes, n.child[k] as usize)).max().unwrap_or(0)
    }
    depth(&body.bvh.nodes, 0)
}

impl Walker {
    /// Compiles the exterior and interior kernels; a shader the device rejects fails here
    /// rather than at the first batch.
    pub fn new(gpu: &Gpu) -> Result<Walker> {
        let layout = gpu.device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("walk"),
            entries: &[
                storage(0, true),
                storage(1, true),
                storage(2, true),
                storage(3, false),
                storage(4, false),
                wgpu::BindGroupLayoutEntry {
                    binding: 5,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = gpu.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("walk"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let module = shader(gpu);
        let pipeline = |entry: &str| {
            gpu.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let walker = Walker { exterior: pipeline("exterior"), interior: pipeline("interior"), layout };
        gpu.check()?;
        Ok(walker)
    }

    /// Checks that a body can go to the device: f32 precision, the traversal stack, buffer
    /// limits.
    pub fn check(&self, gpu: &Gpu, body: &Body) -> Result<()> {
        super::check_precision(body)?;
        if wide_depth(body) > MAX_WIDE_DEPTH {
            return Err(Error::Gpu(format!("a body of {} spheres is deeper than the GPU traversal stack allows", body.spheres.len())));
        }
        let bytes = (body.spheres.len() * 16).max(body.bvh.nodes.len() * 128) as u64;
        let limit = gpu.limits.max_storage_buffer_binding_size.min(gpu.limits.max_buffer_size);
        if bytes > limit {
            return Err(Error::Gpu(format!(
                "a body of {} spheres needs a {bytes}-byte buffer; {} allows {limit}",
                body.spheres.len(),
                gpu.info.adapter
            )));
        }
        Ok(())
    }

    /// Uploads a batch and submits its walks and samples; the GPU runs them while the
    /// caller prepares the next batch.
    pub fn submit(&self, gpu: &Gpu, work: &[Work]) -> Result<Pending> {
        let mut frames = Vec::with_capacity(work.len());
        let (mut nodes, mut spheres) = (Vec::new(), Vec::new());
        let (mut ext_blocks, mut int_blocks) = (0u64, 0u64);
        let mut counts = Vec::with_capacity(work.len());
        for w in work {
            let b = w.body;
            frames.push(FrameDesc {
                seed: [w.seeds.seed as u32, (w.seeds.seed >> 32) as u32],
                key: [w.seeds.frame_key as u32, (w.seeds.frame_key >> 32) as u32],
                node_offset: nodes.len() as u32,
                sphere_offset: spheres.len() as u32,
                ext_first_block: w.ext.first as u32,
                ext_block_offset: ext_blocks as u32,
                ext_end: w.ext.end as u32,
                int_first_block: w.int.first as u32,
                int_block_offset: int_blocks as u32,
                int_end: w.int.end as u32,
                launch_radius: b.launch_radius as f32,
                skin_thickness: b.skin_thickness as f32,
                slack: b.bvh.slack(),
                sphere_count: b.spheres.len() as u32,
            });
            nodes.extend_from_slice(&b.bvh.nodes);
            spheres.extend_from_slice(&b.spheres);
            ext_blocks += w.ext.len();
            int_blocks += w.int.len();
            counts.push((w.ext.len() as usize, w.int.len() as usize));
        }
        let max_groups = u64::from(gpu.limits.max_compute_workgroups_per_dimension);
        let most = ext_blocks.max(int_blocks);
        if most > max_groups * max_groups || most > u32::MAX as u64 / EXT_STRIDE as u64 {
            return Err(Error::Gpu(format!("a batch of {most} blocks exceeds what one dispatch can run")));
        }
        let row_width = most.clamp(1, max_groups) as u32;
        let params = Params { frame_count: frames.len() as u32, ext_blocks: ext_blocks as u32, int_blocks: int_blocks as u32, row_width };
        let d = &gpu.device;
        let init = |label: &str, contents: &[u8], usage: wgpu::BufferUsages| {
            d.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some(label), contents, usage })
        };
        // Bindings may not be empty: every buffer holds at least one element.
        let pad = |mut v: Vec<u8>, unit: usize| {
            if v.is_empty() {
                v.resize(unit, 0);
            }
            v
        };
        let frame_buf = init("frames", &pad(bytemuck::cast_slice(&frames).to_vec(), 64), wgpu::BufferUsages::STORAGE);
        let node_buf = init("nodes", &pad(bytemuck::cast_slice(&nodes).to_vec(), 128), wgpu::BufferUsages::STORAGE);
        let sphere_buf = init("spheres", &pad(bytemuck::cast_slice(&spheres).to_vec(), 16), wgpu::BufferUsages::STORAGE);
        let params_buf = init("params", bytemuck::bytes_of(&params), wgpu::BufferUsages::UNIFORM);
        let out = |label: &str, words: u64| {
            d.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: words.max(1) * 4,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        };
        let read = |label: &str, words: u64| {
            d.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: words.max(1) * 4,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let (ext_words, int_words) = (ext_blocks * EXT_STRIDE as u64, int_blocks * INT_WORDS as u64);
        let (ext_out, int_out) = (out("exterior tallies", ext_words), out("interior tallies", int_words));
        let (ext_read, int_read) = (read("exterior readback", ext_words), read("interior readback", int_words));
        let bind = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("walk"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: frame_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: node_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: sphere_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 3, resource: ext_out.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 4, resource: int_out.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 5, resource: params_buf.as_entire_binding() },
            ],
        });
        let mut encoder = d.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("walk") });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("walk"), timestamp_writes: None });
            pass.set_bind_group(0, &bind, &[]);
            for (pipeline, blocks) in [(&self.exterior, ext_blocks), (&self.interior, int_blocks)] {
                if blocks > 0 {
                    pass.set_pipeline(pipeline);
                    pass.dispatch_workgroups(row_width, blocks.div_ceil(u64::from(row_width)) as u32, 1);
                }
            }
        }
        encoder.copy_buffer_to_buffer(&ext_out, 0, &ext_read, 0, ext_words.max(1) * 4);
        encoder.copy_buffer_to_buffer(&int_out, 0, &int_read, 0, int_words.max(1) * 4);
        let index = gpu.queue.submit([encoder.finish()]);
        gpu.check()?;
        Ok(Pending { ext_read, int_read, counts, index })
    }
}

/// A submitted batch.
pub struct Pending {
    ext_read: wgpu::Buffer,
    int_read: wgpu::Buffer,
    counts: Vec<(usize, usize)>,
    index: wgpu::SubmissionIndex,
}

/// Maps a readback buffer and returns its contents as `T`s.
fn read_words<T: Pod>(gpu: &Gpu, buffer: &wgpu::Buffer, index: &wgpu::SubmissionIndex) -> Result<Vec<T>> {
    let (tx, rx) = std::sync::mpsc::channel();
    buffer.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    gpu.device
        .poll(wgpu::PollType::Wait { submission_index: Some(index.clone()), timeout: None })
        .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
    rx.recv()
        .map_err(|_| Error::Gpu("the device dropped a readback".into()))?
        .map_err(|e| Error::Gpu(format!("reading back tallies: {e}")))?;
    let words = {
        let view = buffer.get_mapped_range(..).map_err(|e| Error::Gpu(format!("reading back tallies: {e}")))?;
        bytemuck::cast_slice::<u8, T>(&view).to_vec()
    };
    buffer.unmap();
    gpu.check()?;
    Ok(words)
}

impl Pending {
    /// Waits for the batch and returns each frame's blocks, in block order.
    pub fn wait(self, gpu: &Gpu) -> Result<Vec<(Vec<ExteriorBlock>, Vec<InteriorTally>)>> {
        let ext: Vec<f32> = read_words(gpu, &self.ext_read, &self.index)?;
        let int: Vec<f32> = read_words(gpu, &self.int_read, &self.index)?;
        let mut out = Vec::with_capacity(self.counts.len());
        let (mut e, mut i) = (0, 0);
        for &(ne, ni) in &self.counts {
            let exterior = (e..e + ne)
                .map(|b| {
                    let mut t = ExteriorBlock::default();
                    let slot = &ext[b * EXT_STRIDE..(b + 1) * EXT_STRIDE];
                    let dst: &mut [f64] = bytemuck::cast_slice_mut(std::slice::from_mut(&mut t.tally));
                    dst.iter_mut().zip(slot).for_each(|(d, &s)| *d = f64::from(s));
                    // The hits in lane (walk) order: the device's tally counts them too.
                    let hits = slot[EXT_WORDS..].chunks_exact(4).filter(|p| p[3] > 0.0);
                    for (dst, p) in t.hits.iter_mut().zip(hits) {
                        *dst = [p[0], p[1], p[2]].map(f64::from);
                    }
                    t
                })
                .collect();
            let interior = (i..i + ni)
                .map(|b| {
                    let mut t = InteriorTally::default();
                    let dst: &mut [f64] = bytemuck::cast_slice_mut(std::slice::from_mut(&mut t));
                    dst.iter_mut().zip(&int[b * INT_WORDS..(b + 1) * INT_WORDS]).for_each(|(d, &s)| *d = f64::from(s));
                    t
                })
                .collect();
            out.push((exterior, interior));
            e += ne;
            i += ni;
        }
        Ok(out)
    }
}

/// Philox4x32-10 on the device, for the known-answer test of the WGSL port:
/// `(counter, key) -> output` for each input.
pub fn philox(gpu: &Gpu, inputs: &[([u32; 4], [u32; 2])]) -> Result<Vec<[u32; 4]>> {
    let module = shader(gpu);
    let pipeline = gpu.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("philox_test"),
        layout: None,
        module: &module,
        entry_point: Some("philox_test"),
        compilation_options: Default::default(),
        cache: None,
    });
    let words: Vec<u32> = inputs.iter().flat_map(|(c, k)| [c[0], c[1], c[2], c[3], k[0], k[1], 0, 0]).collect();
    let io = gpu.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("philox io"),
        contents: bytemuck::cast_slice(&words),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    });
    let readback = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: io.size(),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let bind = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(1),
        entries: &[wgpu::BindGroupEntry { binding: 0, resource: io.as_entire_binding() }],
    });
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(1, &bind, &[]);
        pass.dispatch_workgroups(inputs.len() as u32, 1, 1);
    }
    encoder.copy_buffer_to_buffer(&io, 0, &readback, 0, io.size());
    let index = gpu.queue.submit([encoder.finish()]);
    let out: Vec<u32> = read_words(gpu, &readback, &index)?;
    Ok(out.chunks(8).map(|w| [w[4], w[5], w[6], w[7]]).collect())
}
